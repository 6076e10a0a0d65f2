/**
 * cacheRoute under a stampede and with streamed or large bodies, on real Hono apps against the
 * embedded store and a real Redis: one handler run per cold key however many requests wait,
 * uncacheable responses never shared with the waiters, streamed bodies reaching the client as
 * they are produced (and stored when they end), and bodies over maxBodyBytes passing through.
 */
import { Hono } from 'hono'
import { stream } from 'hono/streaming'
import { describe, expect, it } from 'vitest'
import { cacheRoute, type CacheRouteOptions } from '../../adapters/hono/index.js'
import { sleep, trackCaches } from '../support/helpers.js'
import { BACKENDS, gate, routeCaches, seen, tierOf } from '../support/hono.js'

const track = trackCaches()
const encoder = new TextEncoder()

describe.each(BACKENDS)('single-flight and streaming, on %s', (backend) => {
  function setup(options: Partial<CacheRouteOptions> = {}) {
    const { open, clock } = routeCaches(backend, track)
    const cache = open()
    const app = new Hono()
    app.use('*', cacheRoute({ cache, clock, ...options }))
    return { app, cache, clock, open }
  }

  it('a stampede on a cold route runs the handler once; the others wait for its entry', async () => {
    const { app, cache } = setup()
    let calls = 0
    const hold = gate()
    app.get('/slow', async (c) => {
      calls++
      await hold.promise
      return c.json({ calls })
    })
    const pending = Array.from({ length: 20 }, () => seen(app.request('/slow')))
    await sleep(30)
    hold.open()
    const answers = await Promise.all(pending)
    expect(calls).toBe(1)
    expect(new Set(answers.map((a) => a.text))).toEqual(new Set(['{"calls":1}']))
    expect(answers.filter((a) => a.cache === 'MISS')).toHaveLength(1)
    expect(answers.filter((a) => a.cache === 'HIT' && tierOf(a.timing) === 'coalesced')).toHaveLength(19)
    expect(new Set(answers.map((a) => a.etag)).size).toBe(1)
    expect(cache.stats().loads).toBe(1)
  })

  it('a stampede across two instances shares one entry through L2', async () => {
    const { app, open, clock } = setup()
    let calls = 0
    app.get('/x', async (c) => {
      calls++
      await sleep(20)
      return c.text('one')
    })
    await app.request('/x')
    const other = new Hono()
    other.use('*', cacheRoute({ cache: open(), clock }))
    other.get('/x', (c) => c.text(`other ${++calls}`))
    const answers = await Promise.all(Array.from({ length: 10 }, () => seen(other.request('/x'))))
    expect(answers.every((a) => a.text === 'one' && a.cache === 'HIT')).toBe(true)
    expect(calls).toBe(1)
  })

  it('a stampede on an uncacheable response: each request runs its own handler, and no cookie is shared', async () => {
    const { app } = setup()
    let calls = 0
    app.get('/login', async (c) => {
      const n = ++calls
      await sleep(20)
      c.header('set-cookie', `sid=${n}`)
      return c.text(`session ${n}`)
    })
    const answers = await Promise.all(Array.from({ length: 8 }, () => seen(app.request('/login'))))
    expect(calls).toBe(8)
    for (const answer of answers) {
      expect(answer.cache).toBe('BYPASS')
      expect(answer.headers.get('set-cookie')).toBe(`sid=${answer.text.split(' ')[1]}`)
    }
    expect(new Set(answers.map((a) => a.text)).size).toBe(8)
    // the hit-for-pass marker lets later requests go straight to their handlers
    const later = await Promise.all(Array.from({ length: 3 }, () => seen(app.request('/login'))))
    expect(new Set(later.map((a) => a.headers.get('set-cookie'))).size).toBe(3)
  })

  it('a handler that fails under a stampede: nothing is stored, every request still gets an answer', async () => {
    const { app, cache } = setup()
    let calls = 0
    app.get('/flaky', async (c) => {
      const n = ++calls
      await sleep(20)
      return n === 1 ? c.text('down', 503) : c.text(`up ${n}`)
    })
    const answers = await Promise.all(Array.from({ length: 5 }, () => seen(app.request('/flaky'))))
    const failed = answers.filter((a) => a.status === 503)
    expect(failed).toHaveLength(1)
    expect(failed[0]!.cache).toBe('BYPASS')
    expect(answers.filter((a) => a.status === 200)).toHaveLength(4)
    expect(cache.stats().loadErrors).toBe(1)
    const after = await seen(app.request('/flaky'))
    expect(after).toMatchObject({ status: 200, cache: 'HIT' })
  })

  it('a cacheable response after a hit-for-pass marker replaces it', async () => {
    const { app } = setup()
    let calls = 0
    app.get('/sometimes', (c) => {
      calls++
      if (calls === 1) c.header('cache-control', 'no-store')
      return c.text(`#${calls}`)
    })
    expect((await seen(app.request('/sometimes'))).cache).toBe('BYPASS')
    expect(await seen(app.request('/sometimes'))).toMatchObject({ cache: 'MISS', text: '#2' })
    expect(await seen(app.request('/sometimes'))).toMatchObject({ cache: 'HIT', text: '#2' })
    expect(calls).toBe(2)
  })

  it('an entry past its grace that the cache still holds (ttl jitter) is replaced by one handler run', async () => {
    const { app, cache, clock } = setup({ ttl: '10s' })
    let calls = 0
    app.get('/j', async (c) => {
      calls++
      await sleep(20)
      return c.text(`v${calls}`)
    })
    await app.request('/j')
    // the engine keeps the entry past its freshness and grace, as a +10 % ttl jitter would
    await cache.set('route:localhost/j', await cache.get('route:localhost/j'), { ttl: '1h' })
    clock.advance(11_000)
    const answers = await Promise.all(Array.from({ length: 6 }, () => seen(app.request('/j'))))
    expect(calls).toBe(2)
    expect(answers.map((a) => a.text)).toEqual(Array(6).fill('v2'))
    expect(answers.filter((a) => a.cache === 'MISS')).toHaveLength(1)
    expect(await seen(app.request('/j'))).toMatchObject({ cache: 'HIT', text: 'v2' })
  })

  it('a streamed body reaches the client as it is produced, and is stored when it ends', async () => {
    const { app } = setup()
    let calls = 0
    const last = gate()
    app.get('/stream', (c) => {
      calls++
      c.header('content-type', 'text/plain')
      return stream(c, async (s) => {
        await s.write('first,')
        await sleep(10)
        await s.write('second,')
        await last.promise
        await s.write('last')
      })
    })
    const response = await app.request('/stream')
    expect(response.headers.get('x-cache')).toBe('MISS')
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let received = ''
    while (!received.includes('second,')) received += decoder.decode((await reader.read()).value)
    expect(received).toBe('first,second,') // before the handler has finished
    const waiter = seen(app.request('/stream')) // waits for the entry, not for another handler run
    await sleep(10)
    last.open()
    for (let r = await reader.read(); !r.done; r = await reader.read()) received += decoder.decode(r.value)
    expect(received).toBe('first,second,last')
    expect(await waiter).toMatchObject({ cache: 'HIT', text: 'first,second,last' })
    expect(await seen(app.request('/stream'))).toMatchObject({ cache: 'HIT', text: 'first,second,last' })
    expect(calls).toBe(1)
  })

  it('a body over maxBodyBytes passes through whole and is not stored', async () => {
    const { app } = setup({ maxBodyBytes: 1000 })
    let calls = 0
    const big = 'x'.repeat(5000)
    app.get('/big', (c) => {
      calls++
      return c.text(big)
    })
    app.get('/big-stream', (c) => {
      calls++
      return stream(c, async (s) => {
        for (let i = 0; i < 10; i++) {
          await sleep(2)
          await s.write(encoder.encode('y'.repeat(500)))
        }
      })
    })
    const first = await seen(app.request('/big'))
    expect(first).toMatchObject({ cache: 'BYPASS', text: big })
    expect(tierOf(first.timing)).toBe('bypass: body over 1000 bytes')
    expect((await seen(app.request('/big'))).text).toBe(big)
    const streamed = await seen(app.request('/big-stream'))
    expect(streamed.text).toBe('y'.repeat(5000))
    expect(await seen(app.request('/big-stream'))).toMatchObject({ text: 'y'.repeat(5000) })
    expect(calls).toBe(4)
  })

  it('a body just within maxBodyBytes is stored', async () => {
    const { app } = setup({ maxBodyBytes: 1000 })
    app.get('/fits', (c) => c.text('z'.repeat(1000)))
    await app.request('/fits')
    expect((await seen(app.request('/fits'))).cache).toBe('HIT')
  })

  it('a client that goes away mid-stream: nothing is stored, and waiters are not stuck', async () => {
    const { app } = setup()
    let calls = 0
    app.get('/endless', (c) => {
      calls++
      return stream(c, async (s) => {
        for (let i = 0; i < 50 && !s.aborted; i++) {
          await s.write(`chunk ${i};`)
          await sleep(5)
        }
      })
    })
    const response = await app.request('/endless')
    const reader = response.body!.getReader()
    await reader.read()
    const waiter = seen(app.request('/endless'))
    await reader.cancel()
    const answer = await waiter
    expect(answer.text).toMatch(/^chunk 0;/)
    expect(calls).toBe(2)
  })
})
