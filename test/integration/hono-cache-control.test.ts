/**
 * cacheRoute and the HTTP caching headers, on real Hono apps against the embedded store and a
 * real Redis: the origin's Cache-Control lifetimes (max-age, s-maxage, stale-while-revalidate,
 * must-revalidate), the request's no-cache when configured, and entity tags with 304s.
 */
import type { Context } from 'hono'
import { describe, expect, it } from 'vitest'
import type { CacheRouteOptions } from '../../adapters/hono/index.js'
import { sha256 } from '../../adapters/hono/http.js'
import { sleep, trackCaches } from '../support/helpers.js'
import { BACKENDS, oneRouteApp, seen, tierOf } from '../support/hono.js'

const track = trackCaches()

describe.each(BACKENDS)('Cache-Control and ETag, on %s', (backend) => {
  function setup(handler: (c: Context, n: number) => Response | Promise<Response>, options: Partial<CacheRouteOptions> = {}) {
    return oneRouteApp(backend, track, handler, options)
  }
  const withCacheControl = (value: string) => (c: Context, n: number): Response => {
    c.header('cache-control', value)
    return c.text(`#${n}`)
  }

  it('max-age sets the ttl', async () => {
    const { app, clock, calls } = setup(withCacheControl('public, max-age=30'), { ttl: '1h' })
    await app.request('/r')
    clock.advance(29_000)
    expect((await seen(app.request('/r'))).cache).toBe('HIT')
    clock.advance(2_000)
    expect(await seen(app.request('/r'))).toMatchObject({ cache: 'MISS', text: '#2' })
    expect(calls.n).toBe(2)
  })

  it('s-maxage wins over max-age (this is a shared cache)', async () => {
    const { app, clock } = setup(withCacheControl('max-age=5, s-maxage=60'))
    await app.request('/r')
    clock.advance(30_000)
    const hit = await seen(app.request('/r'))
    expect(hit).toMatchObject({ cache: 'HIT', age: '30' })
    expect(hit.headers.get('cache-control')).toBe('max-age=5, s-maxage=60')
    clock.advance(31_000)
    expect((await seen(app.request('/r'))).cache).toBe('MISS')
  })

  it('the ttl option applies when the origin says nothing', async () => {
    const { app, clock } = setup((c, n) => c.text(`#${n}`), { ttl: '10s' })
    await app.request('/r')
    clock.advance(9_000)
    expect((await seen(app.request('/r'))).cache).toBe('HIT')
    clock.advance(2_000)
    expect((await seen(app.request('/r'))).cache).toBe('MISS')
  })

  it('stale-while-revalidate sets the grace: stale at once, then refreshed', async () => {
    const { app, clock, calls } = setup(withCacheControl('max-age=10, stale-while-revalidate=60'))
    await app.request('/r')
    clock.advance(20_000)
    const stale = await seen(app.request('/r'))
    expect(stale).toMatchObject({ cache: 'STALE', text: '#1', age: '20' })
    await expect.poll(() => calls.n).toBe(2)
    await expect.poll(async () => (await seen(app.request('/r'))).text).toBe('#2')
    clock.advance(71_000) // past max-age + swr of the new entry
    expect(await seen(app.request('/r'))).toMatchObject({ cache: 'MISS', text: '#3' })
  })

  it('must-revalidate: never served stale, whatever the grace option', async () => {
    const { app, clock } = setup(withCacheControl('max-age=10, must-revalidate'), { grace: '1h' })
    await app.request('/r')
    clock.advance(11_000)
    expect(await seen(app.request('/r'))).toMatchObject({ cache: 'MISS', text: '#2' })
  })

  it("the request's no-cache is ignored unless honorNoCache", async () => {
    const { app, calls } = setup((c, n) => c.text(`#${n}`))
    await app.request('/r')
    for (const headers of [{ 'cache-control': 'no-cache' }, { 'cache-control': 'max-age=0' }, { pragma: 'no-cache' }] as Record<string, string>[]) {
      expect((await seen(app.request('/r', { headers }))).cache).toBe('HIT')
    }
    expect(calls.n).toBe(1)
  })

  it("with honorNoCache, the request's no-cache runs the handler and replaces the entry", async () => {
    const { app, calls } = setup((c, n) => c.text(`#${n}`), { honorNoCache: true })
    await app.request('/r')
    const forced = await seen(app.request('/r', { headers: { 'cache-control': 'no-cache' } }))
    expect(forced).toMatchObject({ cache: 'MISS', text: '#2' })
    expect(await seen(app.request('/r'))).toMatchObject({ cache: 'HIT', text: '#2' })
    expect((await seen(app.request('/r', { headers: { pragma: 'no-cache' } }))).text).toBe('#3')
    expect((await seen(app.request('/r', { headers: { 'cache-control': 'max-stale=5' } }))).cache).toBe('HIT')
    expect(calls.n).toBe(3)
  })

  it('gives stored entries a strong ETag: the SHA-256 of the body, base64url', async () => {
    const { app } = setup((c) => c.text('some body'))
    const miss = await seen(app.request('/r'))
    const expected = `"${await sha256('some body')}"`
    expect(miss.etag).toBe(expected)
    expect(expected).toMatch(/^"[A-Za-z0-9_-]{43}"$/)
    expect((await seen(app.request('/r'))).etag).toBe(expected)
  })

  it("keeps the origin's own ETag", async () => {
    const { app } = setup((c) => {
      c.header('etag', 'W/"v42"')
      return c.text('body')
    })
    expect((await seen(app.request('/r'))).etag).toBe('W/"v42"')
    const notModified = await seen(app.request('/r', { headers: { 'if-none-match': '"v42"' } }))
    expect(notModified.status).toBe(304)
  })

  it('answers a matching If-None-Match with a 304, on a MISS and on a HIT', async () => {
    const { app, calls } = setup((c, n) => {
      c.header('cache-control', 'public, max-age=600')
      c.header('x-other', 'dropped on 304')
      return c.text(n === 1 || n === 2 ? 'same body' : 'other')
    })
    const etag = `"${await sha256('same body')}"`
    const cold = await seen(app.request('/r', { headers: { 'if-none-match': etag } }))
    expect(cold).toMatchObject({ status: 304, cache: 'MISS', text: '', etag })
    expect(tierOf(cold.timing)).toBe('origin')
    const hit = await seen(app.request('/r', { headers: { 'if-none-match': `"nope", W/${etag}` } }))
    expect(hit).toMatchObject({ status: 304, cache: 'HIT', text: '', etag })
    expect(hit.headers.get('cache-control')).toBe('public, max-age=600')
    expect(hit.headers.get('x-other')).toBeNull()
    expect(hit.headers.get('content-type')).toBeNull()
    expect((await seen(app.request('/r', { headers: { 'if-none-match': '*' } }))).status).toBe(304)
    const changed = await seen(app.request('/r', { headers: { 'if-none-match': '"old"' } }))
    expect(changed).toMatchObject({ status: 200, cache: 'HIT', text: 'same body' })
    expect(calls.n).toBe(1)
  })

  it('does not answer 304 for a stored 404', async () => {
    const { app } = setup((c) => c.text('missing', 404))
    const first = await seen(app.request('/r'))
    const again = await seen(app.request('/r', { headers: { 'if-none-match': first.etag! } }))
    expect(again).toMatchObject({ status: 404, cache: 'HIT', text: 'missing' })
  })

  it('the handler never sees conditional headers: it always makes a full response to store', async () => {
    const seenByHandler: (string | undefined)[] = []
    const { app } = setup((c) => {
      seenByHandler.push(c.req.header('if-none-match'), c.req.header('range'))
      return c.text('full')
    })
    await app.request('/r', { headers: { 'if-none-match': '"x"', range: 'bytes=0-1' } })
    expect(seenByHandler).toEqual([undefined, undefined])
    expect(await seen(app.request('/r'))).toMatchObject({ cache: 'HIT', text: 'full' })
  })

  it('a stale 304: the entry is refreshed by a later GET', async () => {
    const { app, clock, calls } = setup(withCacheControl('max-age=10, stale-while-revalidate=60'))
    const first = await seen(app.request('/r'))
    clock.advance(20_000)
    expect((await seen(app.request('/r', { headers: { 'if-none-match': first.etag! } }))).status).toBe(304)
    await sleep(20)
    expect(calls.n).toBe(1) // nothing sent to wait for: no background refresh from a 304 here
    expect((await seen(app.request('/r'))).cache).toBe('STALE')
    await expect.poll(() => calls.n).toBe(2)
  })
})
