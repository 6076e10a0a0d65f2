/**
 * Invalidating cached routes from handlers: responses tagged with the `tags` option (a list or
 * a function of the context) and `c.set('cacheTags', [...])`, dropped by `cache.deleteByTag` —
 * here and, on Redis, on another instance of the same namespace.
 */
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { cacheRoute } from '../../adapters/hono/index.js'
import { trackCaches } from '../support/helpers.js'
import { BACKENDS, routeCaches, seen } from '../support/hono.js'

const track = trackCaches()

/** The example's shape: a product route tagged per product and per brand, and a write route that invalidates. */
function shop(cache: ReturnType<ReturnType<typeof routeCaches>['open']>, clock: { now(): number }) {
  const calls = { n: 0 }
  const prices = new Map([['1', 10], ['2', 20]])
  const app = new Hono()
  app.use('/products/*', cacheRoute({ cache, clock, tags: ['catalog'] }))
  app.use('/brands/*', cacheRoute({ cache, clock, tags: (c) => [`brand:${c.req.param('brand') ?? c.req.path.split('/')[2]}`] }))
  app.get('/products/:id', (c) => {
    calls.n++
    const id = c.req.param('id')
    c.set('cacheTags', [`product:${id}`, 'brand:acme'])
    return c.json({ id, price: prices.get(id), n: calls.n })
  })
  app.get('/brands/:brand', (c) => {
    calls.n++
    return c.json({ brand: c.req.param('brand'), n: calls.n })
  })
  app.put('/products/:id/price/:price', async (c) => {
    prices.set(c.req.param('id'), Number(c.req.param('price')))
    await cache.deleteByTag(`product:${c.req.param('id')}`)
    return c.body(null, 204)
  })
  return { app, calls, prices }
}

describe.each(BACKENDS)('invalidation by tag, on %s', (backend) => {
  it('a handler tags its response with c.set("cacheTags"); deleteByTag drops just those routes', async () => {
    const { open, clock } = routeCaches(backend, track)
    const { app, calls } = shop(open(), clock)
    await app.request('/products/1')
    await app.request('/products/2')
    expect((await seen(app.request('/products/1'))).cache).toBe('HIT')
    expect((await app.request('/products/1/price/11', { method: 'PUT' })).status).toBe(204)
    const fresh = await seen(app.request('/products/1'))
    expect(fresh.cache).toBe('MISS')
    expect(JSON.parse(fresh.text)).toMatchObject({ id: '1', price: 11 })
    expect((await seen(app.request('/products/2'))).cache).toBe('HIT')
    expect(calls.n).toBe(3)
  })

  it('keeps the handler tags and the origin max-age when the cache is instrumented (OTel, dashboard latency)', async () => {
    const { open, clock } = routeCaches(backend, track)
    const cache = open()
    const records: string[] = []
    cache.instrument({ end: (_, r) => records.push(`${r.operation}:${r.result}`) })
    const { app, calls } = shop(cache, clock)
    app.get('/short', cacheRoute({ cache, clock, ttl: '1h' }), (c) => {
      calls.n++
      c.header('cache-control', 'public, max-age=2')
      return c.text(`short ${calls.n}`)
    })
    expect((await seen(app.request('/products/1'))).cache).toBe('MISS')
    expect((await seen(app.request('/products/1'))).cache).toBe('HIT')
    await app.request('/products/1/price/12', { method: 'PUT' })
    expect((await seen(app.request('/products/1'))).cache).toBe('MISS')
    expect((await seen(app.request('/short'))).cache).toBe('MISS')
    clock.advance(2_001)
    expect((await seen(app.request('/short'))).cache).toBe('MISS') // max-age=2 ruled, not the route's 1h
    expect(calls.n).toBe(4)
    expect(records).toContain('load:ok')
  })

  it('the tags option (a list, or a function of the context) and the handler tags add up', async () => {
    const { open, clock } = routeCaches(backend, track)
    const cache = open()
    const { app } = shop(cache, clock)
    await app.request('/products/1')
    await app.request('/products/2')
    await app.request('/brands/acme')
    await app.request('/brands/other')
    expect(await cache.deleteByTag('brand:acme')).toBe(3) // two products tagged by their handler, one brand page by the option
    expect((await seen(app.request('/products/1'))).cache).toBe('MISS')
    expect((await seen(app.request('/brands/acme'))).cache).toBe('MISS')
    expect((await seen(app.request('/brands/other'))).cache).toBe('HIT')
    await cache.deleteByTag('catalog')
    expect((await seen(app.request('/products/1'))).cache).toBe('MISS')
    expect((await seen(app.request('/brands/acme'))).cache).toBe('HIT') // not in the catalog
  })

  it('a refreshed stale entry keeps its tags', async () => {
    const { open, clock } = routeCaches(backend, track)
    const cache = open()
    const app = new Hono()
    let n = 0
    app.use('*', cacheRoute({ cache, clock, ttl: '10s', grace: '1m' }))
    app.get('/t', (c) => {
      c.set('cacheTags', ['t'])
      return c.text(`v${++n}`)
    })
    await app.request('/t')
    clock.advance(15_000)
    await (await app.request('/t')).text()
    await expect.poll(async () => (await seen(app.request('/t'))).text).toBe('v2')
    await cache.deleteByTag('t')
    expect((await seen(app.request('/t'))).cache).toBe('MISS')
  })

  it('bad tags from a handler are a programmer error: the request fails loudly', async () => {
    const { open, clock } = routeCaches(backend, track)
    const app = new Hono()
    app.use('*', cacheRoute({ cache: open(), clock }))
    app.get('/bad', (c) => {
      c.set('cacheTags', [''])
      return c.text('x')
    })
    let error: unknown
    app.onError((e, c) => {
      error = e
      return c.text('failed', 500)
    })
    expect((await app.request('/bad')).status).toBe(500)
    expect((error as { code?: string }).code).toBe('E_INVALID_OPTION')
  })
})

describe('invalidation across instances on Redis', () => {
  it('deleteByTag on one instance drops the route from the other instance too', async () => {
    const { open, clock } = routeCaches('redis', track)
    const a = shop(open(), clock)
    const b = shop(open(), clock)
    await a.app.request('/products/1')
    const fromL2 = await seen(b.app.request('/products/1'))
    expect(fromL2.cache).toBe('HIT')
    expect((await seen(b.app.request('/products/1'))).timing).toContain('"l1"') // now in B's own L1
    b.prices.set('1', 99)
    await a.app.request('/products/1/price/99', { method: 'PUT' }) // A invalidates
    await expect.poll(async () => (await seen(b.app.request('/products/1'))).cache, { timeout: 3000 }).toBe('MISS')
    expect(JSON.parse((await seen(b.app.request('/products/1'))).text)).toMatchObject({ price: 99 })
    expect(b.calls.n).toBe(1)
  })
})
