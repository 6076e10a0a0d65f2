/**
 * What cacheRoute never stores or never serves from the cache, one rule per test, on real Hono
 * apps against the embedded store and a real Redis: Set-Cookie, Authorization and Cookie
 * requests (and the private identity that opts them in), Vary, the origin's no-store, private
 * and no-cache, handler errors, event streams, and unkeyed request headers that would
 * otherwise poison an entry.
 */
import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import { describe, expect, it } from 'vitest'
import type { CacheRouteOptions } from '../../adapters/hono/index.js'
import { sha256 } from '../../adapters/hono/http.js'
import { trackCaches } from '../support/helpers.js'
import { BACKENDS, oneRouteApp, seen, tierOf } from '../support/hono.js'

const track = trackCaches()

describe.each(BACKENDS)('never cached, on %s', (backend) => {
  /** An app with one route, counting its handler calls. */
  function setup(handler: (c: Context, n: number) => Response | Promise<Response>, options: Partial<CacheRouteOptions> = {}) {
    return oneRouteApp(backend, track, handler, options)
  }

  it('a response with Set-Cookie: not stored, and its cookie never reaches another request', async () => {
    const { app, calls } = setup((c, n) => {
      c.header('set-cookie', `session=s${n}; HttpOnly`)
      return c.text(`hello ${n}`)
    })
    const first = await seen(app.request('/r'))
    expect(first).toMatchObject({ cache: 'BYPASS', text: 'hello 1' })
    expect(tierOf(first.timing)).toBe('bypass: set-cookie')
    const second = await seen(app.request('/r'))
    expect(second).toMatchObject({ cache: 'BYPASS', text: 'hello 2' })
    expect(second.headers.get('set-cookie')).toBe('session=s2; HttpOnly')
    expect(calls.n).toBe(2)
  })

  it('a request with Authorization: bypasses the cache both ways', async () => {
    const { app, calls } = setup((c, n) => c.text(`for ${c.req.header('authorization') ?? 'anyone'} #${n}`))
    const anonymous = await seen(app.request('/r'))
    expect(anonymous.cache).toBe('MISS')
    const authorized = await seen(app.request('/r', { headers: { authorization: 'Bearer secret' } }))
    expect(authorized).toMatchObject({ cache: 'BYPASS', text: 'for Bearer secret #2' })
    expect(tierOf(authorized.timing)).toBe('bypass: authorization')
    expect((await seen(app.request('/r'))).text).toBe('for anyone #1') // the shared entry is untouched
    expect(calls.n).toBe(2)
  })

  it('a request with Cookie: bypasses the cache both ways', async () => {
    const { app, calls } = setup((c, n) => c.text(`cookie ${c.req.header('cookie') ?? 'none'} #${n}`))
    const withCookie = await seen(app.request('/r', { headers: { cookie: 'session=abc' } }))
    expect(withCookie).toMatchObject({ cache: 'BYPASS', text: 'cookie session=abc #1' })
    expect(tierOf(withCookie.timing)).toBe('bypass: cookie')
    expect((await seen(app.request('/r'))).cache).toBe('MISS')
    expect((await seen(app.request('/r', { headers: { cookie: 'session=abc' } }))).text).toBe('cookie session=abc #3')
    expect(calls.n).toBe(3)
  })

  it('private: requests with an identity get entries of their own, keyed by it', async () => {
    const users: Record<string, string> = { 'Bearer ta': 'alice', 'Bearer tb': 'bob' }
    const { app, calls } = setup(
      (c, n) => {
        c.header('cache-control', 'private, max-age=60')
        return c.text(`${users[c.req.header('authorization') ?? ''] ?? 'anonymous'} #${n}`)
      },
      { private: (c) => users[c.req.header('authorization') ?? ''] },
    )
    const alice = { headers: { authorization: 'Bearer ta' } }
    const bob = { headers: { authorization: 'Bearer tb' } }
    expect(await seen(app.request('/r', alice))).toMatchObject({ cache: 'MISS', text: 'alice #1' })
    expect(await seen(app.request('/r', bob))).toMatchObject({ cache: 'MISS', text: 'bob #2' })
    expect(await seen(app.request('/r', alice))).toMatchObject({ cache: 'HIT', text: 'alice #1' })
    expect(await seen(app.request('/r', bob))).toMatchObject({ cache: 'HIT', text: 'bob #2' })
    // no identity: Authorization still bypasses, and a private response is not shared
    expect(await seen(app.request('/r', { headers: { authorization: 'Bearer forged' } }))).toMatchObject({ cache: 'BYPASS', text: 'anonymous #3' })
    const anonymous = await seen(app.request('/r'))
    expect(anonymous).toMatchObject({ cache: 'BYPASS', text: 'anonymous #4' })
    expect(tierOf(anonymous.timing)).toBe('bypass: private')
    expect(calls.n).toBe(4)
  })

  it('private: the identity is hashed into the key, never stored as given', async () => {
    const { app, cache } = setup((c, n) => c.text(`#${n}`), { private: () => 'user-secret-42' })
    await app.request('/r', { headers: { cookie: 'sid=1' } })
    expect((await seen(app.request('/r', { headers: { cookie: 'sid=1' } }))).cache).toBe('HIT')
    expect(await cache.get(`route:localhost/r|u:${await sha256('user-secret-42')}`)).toMatchObject({ v: 1, s: 200 })
    expect(await cache.get('route:localhost/r|u:user-secret-42')).toBeUndefined()
  })

  it('Vary: * from the origin', async () => {
    const { app, calls } = setup((c, n) => {
      c.header('vary', '*')
      return c.text(`#${n}`)
    })
    await app.request('/r')
    const second = await seen(app.request('/r'))
    expect(second).toMatchObject({ cache: 'BYPASS', text: '#2' })
    expect(tierOf(second.timing)).toBe('bypass: vary *')
    expect(calls.n).toBe(2)
  })

  it('Vary on a request header that is not keyed; stored once it is in vary', async () => {
    const handler = (c: Context, n: number): Response => {
      c.header('vary', 'Accept-Language')
      return c.text(`${c.req.header('accept-language') ?? 'en'} #${n}`)
    }
    const unkeyed = setup(handler)
    await unkeyed.app.request('/r', { headers: { 'accept-language': 'fr' } })
    const second = await seen(unkeyed.app.request('/r', { headers: { 'accept-language': 'de' } }))
    expect(second).toMatchObject({ cache: 'BYPASS', text: 'de #2' })
    expect(tierOf(second.timing)).toBe('bypass: vary accept-language not keyed')

    const keyed = setup(handler, { vary: ['accept-language'] })
    expect((await seen(keyed.app.request('/r', { headers: { 'accept-language': 'fr' } }))).text).toBe('fr #1')
    expect((await seen(keyed.app.request('/r', { headers: { 'accept-language': 'de' } }))).text).toBe('de #2')
    expect(await seen(keyed.app.request('/r', { headers: { 'accept-language': 'fr' } }))).toMatchObject({ cache: 'HIT', text: 'fr #1' })
    expect(keyed.calls.n).toBe(2)
  })

  it.each([
    ['no-store', 'no-store'],
    ['private', 'private, max-age=60'],
    ['no-cache', 'no-cache'],
    ['max-age=0', 'max-age=0'],
  ])('Cache-Control: %s from the origin', async (reason, value) => {
    const { app, calls } = setup((c, n) => {
      c.header('cache-control', value)
      return c.text(`#${n}`)
    })
    await app.request('/r')
    const second = await seen(app.request('/r'))
    expect(second).toMatchObject({ cache: 'BYPASS', text: '#2' })
    expect(tierOf(second.timing)).toBe(`bypass: ${reason}`)
    expect(second.headers.get('cache-control')).toBe(value)
    expect(calls.n).toBe(2)
  })

  it('a handler that throws: the error response passes, nothing is stored', async () => {
    const { app, calls } = setup((_, n) => {
      if (n === 1) throw new Error('boom')
      return new Response(`ok #${n}`)
    })
    app.onError((error, c) => c.text(`failed: ${error.message}`, 500))
    const failed = await seen(app.request('/r'))
    expect(failed).toMatchObject({ status: 500, cache: 'BYPASS', text: 'failed: boom' })
    expect(await seen(app.request('/r'))).toMatchObject({ status: 200, cache: 'MISS', text: 'ok #2' })
    expect(await seen(app.request('/r'))).toMatchObject({ cache: 'HIT', text: 'ok #2' })
    expect(calls.n).toBe(2)
  })

  it('an event stream', async () => {
    const { app, calls } = setup((c, n) => streamSSE(c, async (stream) => {
      await stream.writeSSE({ data: `event ${n}` })
    }))
    const first = await seen(app.request('/r'))
    expect(first).toMatchObject({ cache: 'BYPASS', text: 'data: event 1\n\n' })
    expect(tierOf(first.timing)).toBe('bypass: event stream')
    expect((await seen(app.request('/r'))).text).toBe('data: event 2\n\n')
    expect(calls.n).toBe(2)
  })

  describe('unkeyed request headers cannot poison an entry', () => {
    /** Builds absolute links from X-Forwarded-Host, as apps behind proxies do. */
    const reflecting = (c: Context, n: number): Response => {
      const host = c.req.header('x-forwarded-host') ?? 'shop.example'
      return c.html(`<a href="https://${host}/cart">cart</a> #${n}`)
    }

    it('a response built from X-Forwarded-Host is not stored, and the clean one is', async () => {
      const { app, calls } = setup(reflecting)
      const attack = await seen(app.request('/r', { headers: { 'x-forwarded-host': 'evil.example' } }))
      expect(attack.text).toContain('evil.example') // the attacker sees their own response
      expect(attack.cache).toBe('BYPASS')
      expect(tierOf(attack.timing)).toBe('bypass: read unkeyed header x-forwarded-host')
      const victim = await seen(app.request('/r'))
      expect(victim.text).toBe('<a href="https://shop.example/cart">cart</a> #2')
      expect(victim.cache).toBe('MISS')
      const later = await seen(app.request('/r'))
      expect(later).toMatchObject({ cache: 'HIT', text: victim.text })
      expect(calls.n).toBe(2)
    })

    it('a stored entry is not replaced by a request carrying the header', async () => {
      const { app } = setup(reflecting)
      const clean = await seen(app.request('/r'))
      const attack = await seen(app.request('/r', { headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' } }))
      expect(attack).toMatchObject({ cache: 'HIT', text: clean.text })
      expect((await seen(app.request('/r'))).text).toBe(clean.text)
    })

    it('a stampede led by the attacker stores nothing from it', async () => {
      const { app, calls } = setup(async (c, n) => {
        await new Promise((resolve) => setTimeout(resolve, 30))
        return reflecting(c, n)
      })
      const attack = app.request('/r', { headers: { 'x-forwarded-host': 'evil.example' } })
      await new Promise((resolve) => setTimeout(resolve, 5))
      const victims = await Promise.all([1, 2, 3].map(() => seen(app.request('/r'))))
      expect((await seen(attack)).text).toContain('evil.example')
      for (const victim of victims) expect(victim.text).not.toContain('evil.example')
      expect((await seen(app.request('/r'))).text).not.toContain('evil.example')
      expect(calls.n).toBeGreaterThanOrEqual(2)
    })

    it('a header read through c.req.raw.headers or all at once counts too', async () => {
      const viaRaw = setup((c, n) => c.text(`${c.req.raw.headers.get('x-original-url') ?? '/'} #${n}`))
      await viaRaw.app.request('/r', { headers: { 'x-original-url': '/admin' } })
      expect((await seen(viaRaw.app.request('/r'))).text).toBe('/ #2')
      const all = setup((c, n) => c.json({ headers: c.req.header(), n }))
      expect((await seen(all.app.request('/r', { headers: { 'x-anything': '1' } }))).cache).toBe('BYPASS')
    })

    it('a header the handler reads is fine once it is keyed with vary', async () => {
      const { app, calls } = setup(reflecting, { vary: ['x-forwarded-host'] })
      expect((await seen(app.request('/r', { headers: { 'x-forwarded-host': 'a.example' } }))).cache).toBe('MISS')
      expect((await seen(app.request('/r'))).text).toContain('shop.example')
      expect(await seen(app.request('/r', { headers: { 'x-forwarded-host': 'a.example' } }))).toMatchObject({ cache: 'HIT', text: expect.stringContaining('a.example') })
      expect((await seen(app.request('/r'))).cache).toBe('HIT')
      expect(calls.n).toBe(2)
    })

    it('the Host header is part of the key, so it cannot poison another host', async () => {
      const { app } = setup((c, n) => c.text(`${new URL(c.req.url).host} #${n}`))
      await app.request('http://evil.example/r')
      expect((await seen(app.request('http://shop.example/r'))).text).toBe('shop.example #2')
    })

    it('reading a header the request does not carry is fine (the response is the default one)', async () => {
      const { app, calls } = setup(reflecting)
      await app.request('/r')
      expect((await seen(app.request('/r'))).cache).toBe('HIT')
      expect(calls.n).toBe(1)
    })
  })
})
