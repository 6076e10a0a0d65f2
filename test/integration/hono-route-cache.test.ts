/**
 * cacheRoute basics on real Hono apps, against the embedded store and a real Redis: what is
 * stored and replayed (status, headers, text and binary bodies), HEAD from the GET entry, the
 * statuses, the key, the response headers, and options rejected when the middleware is built.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { cacheRoute, type CacheRouteOptions } from '../../adapters/hono/index.js'
import { createCache, errors } from '../../runtimes/default.js'
import { trackCaches, uniqueName } from '../support/helpers.js'
import { BACKENDS, routeCaches, seen, tierOf } from '../support/hono.js'

const track = trackCaches()

describe.each(BACKENDS)('cacheRoute on %s', (backend) => {
  function setup(options: Partial<CacheRouteOptions> = {}) {
    const { clock, open } = routeCaches(backend, track)
    const cache = open()
    const calls = { n: 0 }
    const app = new Hono()
    app.use('*', cacheRoute({ cache, clock, ...options }))
    app.get('/products/:id', (c) => {
      calls.n++
      c.header('x-served-by', 'origin')
      return c.json({ id: c.req.param('id'), n: calls.n, q: c.req.query() })
    })
    return { app, cache, calls, clock, open }
  }

  it('answers MISS, then HIT from L1 with the same status, headers and body', async () => {
    const { app, calls } = setup()
    const miss = await seen(app.request('/products/1'))
    expect(miss).toMatchObject({ status: 200, cache: 'MISS', age: '0' })
    expect(tierOf(miss.timing)).toBe('origin')
    expect(miss.headers.get('content-type')).toMatch(/^application\/json/)
    expect(miss.headers.get('x-served-by')).toBe('origin')
    const hit = await seen(app.request('/products/1'))
    expect(hit).toMatchObject({ status: 200, cache: 'HIT', text: miss.text, etag: miss.etag })
    expect(tierOf(hit.timing)).toBe('l1')
    expect(hit.headers.get('content-type')).toBe(miss.headers.get('content-type'))
    expect(hit.headers.get('x-served-by')).toBe('origin')
    expect(hit.timing).toBe('cache;desc="l1"') // answered by the cache: its tier; no handler time to report
    expect(miss.timing).toMatch(/^cache;desc="origin";dur=\d+(?:\.\d{1,2})?$/)
    expect(calls.n).toBe(1)
  })

  it('serves another instance from L2, which then holds it in its own L1', async () => {
    const { app, open, clock } = setup()
    const first = await seen(app.request('/products/7'))
    const other = new Hono()
    let otherCalls = 0
    other.use('*', cacheRoute({ cache: open(), clock }))
    other.get('/products/:id', (c) => c.json({ other: ++otherCalls }))
    const fromL2 = await seen(other.request('/products/7'))
    expect(fromL2).toMatchObject({ status: 200, cache: 'HIT', text: first.text, etag: first.etag })
    expect(tierOf(fromL2.timing)).toBe('l2')
    expect(tierOf((await seen(other.request('/products/7'))).timing)).toBe('l1')
    expect(otherCalls).toBe(0)
  })

  it('counts Age from when the response was stored', async () => {
    const { app, clock } = setup({ ttl: '1m' })
    await app.request('/products/1')
    clock.advance(12_400)
    expect((await seen(app.request('/products/1'))).age).toBe('12')
  })

  it('stores binary bodies byte for byte, and text that is not UTF-8', async () => {
    const { open, clock } = routeCaches(backend, track)
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 256) // every byte value, invalid UTF-8
    const latin1 = new Uint8Array([0x63, 0x61, 0x66, 0xe9]) // "café" in ISO-8859-1: not UTF-8
    const build = () => {
      const app = new Hono()
      app.use('*', cacheRoute({ cache: open(), clock }))
      app.get('/bin', (c) => c.body(bytes, 200, { 'content-type': 'application/octet-stream' }))
      app.get('/latin1', (c) => c.body(latin1, 200, { 'content-type': 'text/plain; charset=iso-8859-1' }))
      app.get('/utf8', (c) => c.text('naïve ☃ \u{1F600}'))
      return app
    }
    const a = build()
    const b = build() // a second instance reads what the first stored, through L2
    for (const app of [a, a, b]) {
      const bin = await app.request('/bin')
      expect(new Uint8Array(await bin.arrayBuffer())).toEqual(bytes)
      expect(bin.headers.get('content-type')).toBe('application/octet-stream')
      const text = await app.request('/latin1')
      expect(new Uint8Array(await text.arrayBuffer())).toEqual(latin1)
      expect(await (await app.request('/utf8')).text()).toBe('naïve ☃ \u{1F600}')
    }
    expect((await b.request('/bin')).headers.get('x-cache')).toBe('HIT')
  })

  it('answers HEAD from the GET entry, and a HEAD miss fills it', async () => {
    const { app, calls } = setup()
    await app.request('/products/1')
    const head = await app.request('/products/1', { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('x-cache')).toBe('HIT')
    expect(await head.text()).toBe('')
    const coldHead = await app.request('/products/2', { method: 'HEAD' })
    expect(coldHead.headers.get('x-cache')).toBe('MISS')
    expect(await coldHead.text()).toBe('')
    const get = await seen(app.request('/products/2'))
    expect(get.cache).toBe('HIT')
    expect(JSON.parse(get.text)).toMatchObject({ id: '2' })
    expect(calls.n).toBe(2)
  })

  it('leaves HEAD alone when methods is [GET], and never touches other methods', async () => {
    const { app, calls } = setup({ methods: ['GET'] })
    app.post('/products/:id', (c) => c.text('posted', 201))
    await app.request('/products/1')
    const head = await app.request('/products/1', { method: 'HEAD' })
    expect(head.headers.get('x-cache')).toBeNull()
    const post = await app.request('/products/1', { method: 'POST' })
    expect(post.status).toBe(201)
    expect(post.headers.get('x-cache')).toBeNull()
    expect(calls.n).toBe(2)
  })

  it('stores the default statuses 200, 203, 204, 300, 301, 404, 410 and no others', async () => {
    const { open, clock } = routeCaches(backend, track)
    const app = new Hono()
    const calls = new Map<number, number>()
    app.use('*', cacheRoute({ cache: open(), clock }))
    app.get('/status/:code', (c) => {
      const code = Number(c.req.param('code'))
      calls.set(code, (calls.get(code) ?? 0) + 1)
      if (code === 204) return c.body(null, 204)
      if (code === 301 || code === 302) return c.redirect('/elsewhere', code)
      return c.text(`status ${code}`, code as 200)
    })
    const stored = [200, 203, 204, 300, 301, 404, 410]
    const passed = [201, 302, 400, 403, 500, 503]
    for (const code of [...stored, ...passed]) {
      const first = await seen(app.request(`/status/${code}`))
      const second = await seen(app.request(`/status/${code}`))
      expect(second.status, String(code)).toBe(code)
      expect(second.text, String(code)).toBe(first.text)
      if (stored.includes(code)) {
        expect([first.cache, second.cache], String(code)).toEqual(['MISS', 'HIT'])
        expect(calls.get(code), String(code)).toBe(1)
      } else {
        expect(second.cache, String(code)).toBe('BYPASS')
        expect(tierOf(second.timing), String(code)).toBe(`bypass: status ${code}`)
        expect(calls.get(code), String(code)).toBe(2)
      }
    }
    expect((await app.request('/status/301')).headers.get('location')).toBe('/elsewhere')
  })

  it('stores the statuses it is given', async () => {
    const { app, calls } = setup({ statuses: [200] })
    app.get('/gone', (c) => {
      calls.n++
      return c.text('gone', 410)
    })
    await app.request('/gone')
    expect((await app.request('/gone')).headers.get('x-cache')).toBe('BYPASS')
    expect(calls.n).toBe(2)
  })

  it('keys by host, path and the query with its parameters sorted', async () => {
    const { app, calls } = setup()
    await app.request('/products/1?b=2&a=1')
    expect((await seen(app.request('/products/1?a=1&b=2'))).cache).toBe('HIT')
    expect((await seen(app.request('/products/1?a=1&b=3'))).cache).toBe('MISS')
    expect((await seen(app.request('/products/1'))).cache).toBe('MISS')
    expect((await seen(app.request('/products/2?a=1&b=2'))).cache).toBe('MISS')
    expect((await seen(app.request('http://other.example/products/1?a=1&b=2'))).cache).toBe('MISS')
    expect((await seen(app.request('http://OTHER.example/products/1?b=2&a=1'))).cache).toBe('HIT')
    expect((await seen(app.request('/products/1?b=2&a=1'))).cache).toBe('HIT')
    expect(calls.n).toBe(5)
  })

  it('ignores request headers outside vary, and keys by the ones in it', async () => {
    const { app, calls } = setup({ vary: ['Accept-Language'] })
    await app.request('/products/1', { headers: { 'accept-language': 'fr', 'x-random': '1' } })
    expect((await seen(app.request('/products/1', { headers: { 'accept-language': 'fr', 'x-random': '2', 'user-agent': 'x' } }))).cache).toBe('HIT')
    expect((await seen(app.request('/products/1', { headers: { 'accept-language': 'de' } }))).cache).toBe('MISS')
    expect((await seen(app.request('/products/1', { headers: { 'accept-language': '' } }))).cache).toBe('MISS')
    expect((await seen(app.request('/products/1'))).cache).toBe('MISS')
    expect((await seen(app.request('/products/1'))).cache).toBe('HIT')
    expect(calls.n).toBe(4)
  })

  it('uses the key option, and bypasses when it returns nothing', async () => {
    const { app, calls } = setup({ key: (c) => (c.req.query('nocache') ? null : `product:${c.req.param('id') ?? c.req.path}`) })
    await app.request('/products/1?x=1')
    expect((await seen(app.request('/products/1?x=2'))).cache).toBe('HIT')
    const bypass = await seen(app.request('/products/1?nocache=1'))
    expect(bypass.cache).toBe('BYPASS')
    expect(tierOf(bypass.timing)).toBe('bypass: key')
    expect(calls.n).toBe(2)
  })

  it('hashes keys too long to keep readable, and still serves them', async () => {
    const { app, calls } = setup()
    const long = `/products/1?${Array.from({ length: 80 }, (_, i) => `param${i}=${'v'.repeat(10)}`).join('&')}`
    await app.request(long)
    expect((await seen(app.request(long))).cache).toBe('HIT')
    expect(calls.n).toBe(1)
  })

  it('puts the headers earlier middleware set on this request on each hit', async () => {
    const { open, clock } = routeCaches(backend, track)
    const app = new Hono()
    let id = 0
    app.use('*', async (c, next) => {
      c.header('x-request-id', String(++id))
      await next()
    })
    app.use('*', async (c, next) => {
      c.res.headers.set('access-control-allow-origin', '*') // what hono/cors does before next()
      await next()
    })
    app.use('*', cacheRoute({ cache: open(), clock }))
    app.get('/x', (c) => c.text('x'))
    const miss = await seen(app.request('/x'))
    expect(miss.headers.get('x-request-id')).toBe('1')
    expect(miss.headers.get('access-control-allow-origin')).toBe('*')
    const hit = await seen(app.request('/x'))
    expect(hit.cache).toBe('HIT')
    expect(hit.headers.get('x-request-id')).toBe('2')
    expect(hit.headers.get('access-control-allow-origin')).toBe('*')
  })
})

describe.each(BACKENDS)('cacheRoute around one handler, on %s', (backend) => {
  function setup(options: Partial<CacheRouteOptions> = {}, instrument = false) {
    const { clock, open } = routeCaches(backend, track)
    const cache = open()
    if (instrument) cache.instrument()
    const calls = { n: 0 }
    const app = new Hono()
    app.get('/products/:id', cacheRoute({ cache, clock, ...options }, (c) => {
      calls.n++
      c.set('cacheTags', [`product:${c.req.param('id')}`])
      return c.json({ id: c.req.param('id'), n: calls.n })
    }))
    return { app, cache, calls, clock }
  }

  it('answers MISS, then an L1 HIT synchronously (app.fetch returns the Response itself), counted once', async () => {
    const { app, cache, calls } = setup()
    const miss = await seen(app.request('http://localhost/products/1'))
    expect(miss).toMatchObject({ status: 200, cache: 'MISS' })
    const before = cache.stats().requests
    const answer = app.fetch(new Request('http://localhost/products/1'))
    expect(answer).toBeInstanceOf(Response) // not a promise: no microtask per hit
    const hit = await seen(Promise.resolve(answer as Response))
    expect(hit).toMatchObject({ status: 200, cache: 'HIT', text: miss.text, etag: miss.etag, timing: 'cache;desc="l1"' })
    expect(cache.stats().requests).toBe(before + 1)
    const notModified = app.fetch(new Request('http://localhost/products/1', { headers: { 'if-none-match': miss.etag! } }))
    expect((notModified as Response).status).toBe(304)
    expect(calls.n).toBe(1)
  })

  it('takes the full path for what the quick one cannot answer: stale entries (counted once), Authorization, HEAD misses', async () => {
    const { app, cache, calls, clock } = setup({ ttl: '10s', grace: '1m' })
    await app.request('http://localhost/products/2')
    clock.advance(10_001)
    const before = cache.stats().requests
    const stale = await seen(app.request('http://localhost/products/2'))
    expect(stale.cache).toBe('STALE')
    expect(cache.stats().requests).toBe(before + 1)
    await expect.poll(() => calls.n).toBe(2) // the one background refresh
    expect((await seen(app.request('http://localhost/products/2', { headers: { authorization: 'Bearer x' } }))).cache).toBe('BYPASS')
    expect((await seen(app.request('http://localhost/products/3', { method: 'HEAD' }))).cache).toBe('MISS')
    expect((await seen(app.request('http://localhost/products/3'))).cache).toBe('HIT')
  })

  it('labels and invalidates the same on an instrumented cache (which the quick path leaves to the full one)', async () => {
    const { app, cache, calls } = setup({}, true)
    expect((await seen(app.request('http://localhost/products/4'))).cache).toBe('MISS')
    expect(app.fetch(new Request('http://localhost/products/4'))).toBeInstanceOf(Promise)
    expect((await seen(app.request('http://localhost/products/4'))).cache).toBe('HIT')
    await cache.deleteByTag('product:4')
    expect((await seen(app.request('http://localhost/products/4'))).cache).toBe('MISS')
    expect(calls.n).toBe(2)
  })
})

describe('cacheRoute options', () => {
  const cache = track(createCache({ namespace: uniqueName('opts'), l2: false }))
  const bad: [string, Record<string, unknown>][] = [
    ['no options', undefined as unknown as Record<string, unknown>],
    ['no cache', {}],
    ['a cache that is not one', { cache: { get: 1 } }],
    ['an unknown option', { cache, tll: '1m' }],
    ['ttl 0', { cache, ttl: 0 }],
    ['a malformed ttl', { cache, ttl: '5 minutes' }],
    ['a negative grace', { cache, grace: -1 }],
    ['a key that is not a function', { cache, key: 'k' }],
    ['private that is not a function', { cache, private: true }],
    ['vary that is not an array', { cache, vary: 'accept' }],
    ['vary with a bad header name', { cache, vary: ['accept language'] }],
    ['vary with authorization', { cache, vary: ['Authorization'] }],
    ['vary with cookie', { cache, vary: ['cookie'] }],
    ['tags with an empty tag', { cache, tags: [''] }],
    ['tags that are not strings', { cache, tags: [1] }],
    ['methods with POST', { cache, methods: ['GET', 'POST'] }],
    ['no methods', { cache, methods: [] }],
    ['statuses with 206', { cache, statuses: [200, 206] }],
    ['statuses with 304', { cache, statuses: [304] }],
    ['statuses with 99', { cache, statuses: [99] }],
    ['no statuses', { cache, statuses: [] }],
    ['maxBodyBytes 0', { cache, maxBodyBytes: 0 }],
    ['maxBodyBytes 1.5', { cache, maxBodyBytes: 1.5 }],
    ['honorNoCache "yes"', { cache, honorNoCache: 'yes' }],
    ['a clock without now()', { cache, clock: {} }],
  ]
  it.each(bad)('rejects %s when the middleware is built', (_, options) => {
    let thrown: unknown
    try {
      cacheRoute(options as unknown as CacheRouteOptions)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(errors.InvalidOptionError)
    expect((thrown as errors.InvalidOptionError).code).toBe('E_INVALID_OPTION')
    expect((thrown as Error).message).toMatch(/^\[tiercache\] cacheRoute/)
  })

  it('rejects a handler that is not a function', () => {
    expect(() => cacheRoute({ cache }, 'handler' as never)).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'handler' }))
  })

  it('builds a named middleware with every option given', () => {
    const middleware = cacheRoute({
      cache, ttl: '30s', grace: '5m', key: (c) => c.req.path, vary: ['Accept-Language', 'accept'], tags: ['t'],
      methods: ['GET'], statuses: [200, 404], maxBodyBytes: 1024, private: () => null, honorNoCache: true, clock: { now: () => 0 },
    })
    expect(middleware.name).toBe('cacheRoute')
  })
})

describe('the middleware is runtime-agnostic', () => {
  it('imports nothing but the core and hono types, and uses no runtime globals', () => {
    const dir = join(import.meta.dirname, '..', '..', 'adapters', 'hono')
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const code = readFileSync(join(dir, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
      const imports = [...code.matchAll(/^import\s+(type\s+)?[^'"]*from\s+'([^']+)'/gm)].map((m) => ({ typeOnly: m[1] !== undefined, from: m[2]! }))
      for (const { typeOnly, from } of imports) {
        const ok = from.startsWith('./') || from.startsWith('../../src/') || (from === 'hono' && typeOnly)
        expect(ok, `${file} imports ${from}`).toBe(true)
      }
      expect(code, file).not.toMatch(/\b(?:process\.|Deno\.|Bun\.|Buffer\b|require\()|['"]node:/)
    }
  })
})
