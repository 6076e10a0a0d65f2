/**
 * Stale-while-revalidate in cacheRoute, on real Hono apps against the embedded store and a real
 * Redis: within grace the stale response is served at once and one background refresh runs
 * after it has been sent (kept alive with waitUntil where there is one); past grace the
 * handler runs in the foreground; a refresh that fails keeps the stale entry, one the origin
 * no longer allows to be cached drops it. Also over real HTTP on @hono/node-server.
 */
import { serve } from '@hono/node-server'
import { Hono, type Context } from 'hono'
import { describe, expect, it } from 'vitest'
import { cacheRoute, type CacheRouteOptions } from '../../adapters/hono/index.js'
import { sleep, trackCaches } from '../support/helpers.js'
import { BACKENDS, oneRouteApp, gate, routeCaches, seen, tierOf } from '../support/hono.js'

const track = trackCaches()

describe.each(BACKENDS)('stale-while-revalidate, on %s', (backend) => {
  function setup(handler: (c: Context, n: number) => Response | Promise<Response>, options: Partial<CacheRouteOptions> = {}) {
    return oneRouteApp(backend, track, handler, { ttl: '10s', grace: '1m', ...options })
  }

  it('within grace: the stale response at once, then one background refresh', async () => {
    const hold = gate()
    const { app, calls, clock } = setup(async (c, n) => {
      if (n > 1) await hold.promise
      return c.text(`v${n}`)
    })
    await app.request('/r')
    clock.advance(15_000)
    const stale = await Promise.all(Array.from({ length: 5 }, () => seen(app.request('/r'))))
    for (const answer of stale) {
      expect(answer).toMatchObject({ status: 200, cache: 'STALE', text: 'v1', age: '15' })
      expect(tierOf(answer.timing)).toBe('l1')
    }
    await expect.poll(() => calls.n).toBe(2) // one refresh for five stale answers
    expect((await seen(app.request('/r'))).cache).toBe('STALE') // still refreshing
    hold.open()
    await expect.poll(async () => (await seen(app.request('/r'))).text).toBe('v2')
    expect(await seen(app.request('/r'))).toMatchObject({ cache: 'HIT', age: '0' })
    expect(calls.n).toBe(2)
  })

  it('the refresh waits until the stale response has been sent', async () => {
    const { app, calls, clock } = setup((c, n) => c.text(`v${n}`))
    await app.request('/r')
    clock.advance(15_000)
    const response = await app.request('/r')
    expect(response.headers.get('x-cache')).toBe('STALE')
    await sleep(30)
    expect(calls.n).toBe(1) // the body is not read yet: this request's context is still in use
    expect(await response.text()).toBe('v1')
    await expect.poll(() => calls.n).toBe(2)
  })

  it('the refreshed entry is clean: no header of the stale answer is stored with it', async () => {
    const { app, clock, cache } = setup((c, n) => {
      c.header('x-version', String(n))
      return c.text(`v${n}`)
    })
    await app.request('/r')
    clock.advance(15_000)
    await (await app.request('/r')).text()
    await expect.poll(async () => (await seen(app.request('/r'))).text).toBe('v2')
    const entry = await cache.get<{ h: Record<string, string> }>('route:localhost/r')
    expect(Object.keys(entry!.h).sort()).toEqual(['content-type', 'etag', 'x-version'])
    expect(entry!.h['x-version']).toBe('2')
  })

  it('past grace: the handler runs in the foreground', async () => {
    const { app, clock, calls } = setup((c, n) => c.text(`v${n}`))
    await app.request('/r')
    clock.advance(71_000)
    expect(await seen(app.request('/r'))).toMatchObject({ cache: 'MISS', text: 'v2' })
    expect(calls.n).toBe(2)
  })

  it('a refresh that fails keeps the stale entry until its grace ends', async () => {
    const { app, clock, calls } = setup((c, n) => (n === 1 ? c.text('v1') : c.text('down', 503)))
    await app.request('/r')
    clock.advance(15_000)
    expect((await seen(app.request('/r'))).text).toBe('v1')
    await expect.poll(() => calls.n).toBe(2)
    await sleep(20)
    expect(await seen(app.request('/r'))).toMatchObject({ cache: 'STALE', text: 'v1' })
    await expect.poll(() => calls.n).toBe(3) // each stale answer tries again, one at a time
  })

  it('a refresh the origin no longer lets be cached drops the entry', async () => {
    const { app, clock, calls } = setup((c, n) => {
      if (n > 1) c.header('cache-control', 'no-store')
      return c.text(`v${n}`)
    })
    await app.request('/r')
    clock.advance(15_000)
    expect((await seen(app.request('/r'))).text).toBe('v1')
    await expect.poll(() => calls.n).toBe(2)
    await expect.poll(async () => (await seen(app.request('/r'))).cache).toBe('BYPASS')
  })

  it('hands the refresh to waitUntil where the platform has one (Workers)', async () => {
    const { app, clock, calls } = setup((c, n) => c.text(`v${n}`))
    const kept: Promise<unknown>[] = []
    const ctx = { waitUntil: (p: Promise<unknown>) => void kept.push(p), passThroughOnException: () => undefined, props: {} }
    await app.request('/r', {}, {}, ctx)
    clock.advance(15_000)
    const stale = await app.request('/r', {}, {}, ctx)
    expect(kept).toHaveLength(1)
    await stale.text()
    await Promise.all(kept)
    expect(calls.n).toBe(2)
    expect((await seen(app.request('/r', {}, {}, ctx))).text).toBe('v2')
  })

  it('HEAD is answered stale; a later GET refreshes', async () => {
    const { app, clock, calls } = setup((c, n) => c.text(`v${n}`))
    await app.request('/r')
    clock.advance(15_000)
    const head = await app.request('/r', { method: 'HEAD' })
    expect(head.headers.get('x-cache')).toBe('STALE')
    await sleep(20)
    expect(calls.n).toBe(1)
    await (await app.request('/r')).text()
    await expect.poll(() => calls.n).toBe(2)
  })

  it('a stale response without a body (204) is reloaded in the foreground', async () => {
    const { app, clock, calls } = setup((c) => c.body(null, 204))
    await app.request('/r')
    clock.advance(15_000)
    expect(await seen(app.request('/r'))).toMatchObject({ status: 204, cache: 'MISS' })
    expect(calls.n).toBe(2)
  })
})

describe('stale-while-revalidate over HTTP on @hono/node-server', () => {
  it('refreshes once the stale response has been sent on the socket', async () => {
    const { open, clock } = routeCaches('memoryStore', track)
    let calls = 0
    const app = new Hono()
    app.use('*', cacheRoute({ cache: open(), clock, ttl: '10s', grace: '1m' }))
    app.get('/r', (c) => c.text(`v${++calls}`))
    app.get('/empty', (c) => {
      calls++
      return c.body(null, 204)
    })
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
    })
    try {
      const address = server.address() as { port: number }
      const url = `http://127.0.0.1:${address.port}`
      expect((await seen(fetch(`${url}/r`))).cache).toBe('MISS')
      await fetch(`${url}/empty`)
      clock.advance(15_000)
      expect(await seen(fetch(`${url}/r`))).toMatchObject({ cache: 'STALE', text: 'v1' })
      await expect.poll(async () => (await seen(fetch(`${url}/r`))).text).toBe('v3')
      // on Node the socket says when the response has left, so a bodiless one is refreshed in the background too
      expect((await seen(fetch(`${url}/empty`))).cache).toBe('STALE')
      await expect.poll(() => calls).toBe(4)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
