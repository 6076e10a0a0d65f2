import { describe, expect, it } from 'vitest'
import { createCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { memoryStore } from '../../adapters/memory.js'
import { backends } from '../support/backends.js'
import { counting, fakeClock, sleep, testRedis, trackCaches, uniqueName } from '../support/helpers.js'

const track = trackCaches()

describe.each(backends)('read path over $name', ({ shared }) => {
  it('local-only, remote-only and both tiers answer reads and writes', async () => {
    const namespace = uniqueName()
    const l2 = shared()
    const localOnly = track(createCache({ namespace: uniqueName(), l1: lru(), l2: false }))
    const remoteOnly = track(createCache({ namespace, l1: false, l2: l2() }))
    const both = track(createCache({ namespace, l1: lru(), l2: l2() }))

    await localOnly.set('k', { n: 1 })
    expect(await localOnly.get('k')).toEqual({ n: 1 })
    expect(localOnly.stats().tiers).toEqual({ l1: { name: 'lru', hits: 1, misses: 0, hitRate: 1, entries: 1, circuit: 'closed', circuitOpened: 0 } })

    await both.ready()
    await remoteOnly.set('k', { n: 2 })
    // the write's invalidation reaches both's L1 asynchronously: let it land before both reads,
    // or it may drop the entry both promotes (a late invalidation costs one hit)
    await expect.poll(() => both.stats().invalidation.received).toBeGreaterThanOrEqual(1)
    expect(await remoteOnly.get('k')).toEqual({ n: 2 })
    expect(Object.keys(remoteOnly.stats().tiers)).toEqual(['l2'])
    expect(remoteOnly.stats().tiers.l2!.hits).toBe(1)
    expect(await remoteOnly.mget(['k'])).toEqual(new Map([['k', { n: 2 }]]))
    expect(remoteOnly.stats().promotions).toBe(0) // no tier above its only one: nothing copied

    // both: the value written by remote-only is found in L2 and promoted
    expect(await both.get('k')).toEqual({ n: 2 })
    expect(await both.get('k')).toEqual({ n: 2 })
    expect(both.stats().tiers).toMatchObject({ l1: { hits: 1, misses: 1 }, l2: { hits: 1, misses: 0 } })
    expect(both.stats().promotions).toBe(1)
  })

  it('promotes an L2 hit to L1 every time it misses L1, with the remaining L2 ttl', async () => {
    const namespace = uniqueName()
    const l2 = shared()
    const writer = track(createCache({ namespace, l1: false, l2: l2(), ttl: '300ms', jitter: 0 }))
    const reader = track(createCache({ namespace, l1: lru(), l2: l2(), ttl: '10m', jitter: 0 }))
    await writer.set('k', 'v1')
    await sleep(100)
    expect(await reader.get('k')).toBe('v1') // promoted with ~200 ms left, not reader's 10 min
    await sleep(300)
    expect(await reader.get('k', { disableLoad: true })).toBeUndefined()
    expect(reader.stats()).toMatchObject({ promotions: 1, hits: 1, misses: 1 })

    await writer.set('k', 'v2')
    expect(await reader.get('k')).toBe('v2')
    expect(reader.stats().promotions).toBe(2)
  })

  it('getOrLoad reads L1, then L2, then calls the loader once and writes both tiers', async () => {
    const namespace = uniqueName()
    const l2 = shared()
    const a = track(createCache({ namespace, l1: lru(), l2: l2() }))
    const b = track(createCache({ namespace, l1: lru(), l2: l2() }))
    let calls = 0
    const loader = async (key: string) => {
      calls++
      return { key, at: new Date(1000) }
    }
    expect(await a.getOrLoad('x', loader)).toEqual({ key: 'x', at: new Date(1000) })
    expect(await a.getOrLoad('x', loader)).toEqual({ key: 'x', at: new Date(1000) })
    expect(await b.getOrLoad('x', loader)).toEqual({ key: 'x', at: new Date(1000) })
    expect(calls).toBe(1)
    expect(a.stats()).toMatchObject({ requests: 2, misses: 1, loads: 1, tiers: { l1: { hits: 1 } } })
    expect(b.stats()).toMatchObject({ requests: 1, misses: 0, loads: 0, tiers: { l2: { hits: 1 } } })
  })

  it('uses the configured loader for get, unless disableLoad', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()(), loader: (key) => `loaded:${key}` }))
    expect(await cache.get('a', { disableLoad: true })).toBeUndefined()
    expect(await cache.get('a')).toBe('loaded:a')
    expect(await cache.get('a', { disableLoad: true })).toBe('loaded:a')
  })

  it('delete removes a key from every tier, and from other instances L2', async () => {
    const namespace = uniqueName()
    const l2 = shared()
    const a = track(createCache({ namespace, l2: l2() }))
    const b = track(createCache({ namespace, l1: false, l2: l2() }))
    await a.set('k', 1)
    expect(await b.get('k')).toBe(1)
    await a.delete('k')
    expect(await a.get('k')).toBeUndefined()
    expect(await b.get('k')).toBeUndefined()
  })
})

describe('ordered tiers', () => {
  it('reads through an L3 with ttlScale and promotes into L2 and L1', async () => {
    const clock = fakeClock()
    const l2 = memoryStore({ clock })
    const l3 = memoryStore({ clock })
    const cache = createCache({
      namespace: uniqueName(),
      tiers: [{ store: lru() }, { store: l2 }, { store: l3, ttlScale: 4 }],
      ttl: '10s',
      jitter: 0,
      clock,
    })
    await cache.set('k', 'v')
    clock.advance(15_000) // past ttl in L1 and L2, inside L3's 40 s
    expect(await cache.get('k')).toBe('v')
    expect(cache.stats().tiers).toEqual({
      l1: { name: 'lru', hits: 0, misses: 1, hitRate: 0, entries: 1, circuit: 'closed', circuitOpened: 0 },
      l2: { name: 'memory', hits: 0, misses: 1, hitRate: 0, circuit: 'closed', circuitOpened: 0 },
      l3: { name: 'memory', hits: 1, misses: 0, hitRate: 1, circuit: 'closed', circuitOpened: 0 },
    })
    await cache.close() // waits for the background promotion into L2
    expect(l2.size).toBe(1)
    clock.advance(25_001)
    const again = createCache({ namespace: cache.namespace, tiers: [{ store: l3, ttlScale: 4 }], clock })
    expect(await again.get('k', { disableLoad: true })).toBeUndefined()
  })

  it('skips promotion from a tier with promote: false', async () => {
    const clock = fakeClock()
    const l2 = memoryStore({ clock })
    const writer = createCache({ namespace: 'p', l1: false, l2, clock })
    await writer.set('k', 'v')
    const cache = createCache({ namespace: 'p', tiers: [{ store: lru() }, { store: l2, promote: false }], clock })
    expect(await cache.get('k')).toBe('v')
    expect(await cache.get('k')).toBe('v')
    expect(cache.stats().tiers).toMatchObject({ l1: { hits: 0, misses: 2 }, l2: { hits: 2 } })
    expect(cache.stats().promotions).toBe(0)
  })

  it('caps the L1 lifetime with lru({ ttl }) and re-reads L2 after it', async () => {
    const clock = fakeClock()
    const { store, counts } = counting(memoryStore({ clock }))
    const cache = createCache({ namespace: 'cap', l1: lru({ ttl: '1s' }), l2: store, ttl: '1m', jitter: 0, clock })
    await cache.set('k', 'v')
    expect(await cache.get('k')).toBe('v')
    expect(counts.get).toBe(0)
    clock.advance(1001)
    expect(await cache.get('k')).toBe('v')
    expect(counts.get).toBe(1)
    expect(await cache.get('k')).toBe('v')
    expect(counts.get).toBe(1)
  })

  it('returns the stored reference from L1, and copies with lru({ clone: true })', async () => {
    const shared = createCache({ namespace: 'ref', l1: lru(), l2: false })
    const value = { n: 1 }
    await shared.set('k', value)
    expect(await shared.get('k')).toBe(value)
    const cloning = createCache({ namespace: 'ref2', l1: lru({ clone: true }), l2: false })
    await cloning.set('k', value)
    const got = (await cloning.get('k')) as { n: number }
    expect(got).toEqual(value)
    expect(got).not.toBe(value)
    got.n = 99
    expect(await cloning.get('k')).toEqual({ n: 1 })
  })
})

describe('redis keys', () => {
  it('stores entries under <prefix>:<namespace>:<key> with a PX ttl', async () => {
    const namespace = uniqueName()
    const store = testRedis()
    const cache = createCache({ namespace, prefix: 'tcx', l2: store, ttl: '1m', jitter: 0 })
    await cache.set('user:1', { a: 1 })
    const client = await store.client()
    const raw = await client.get(`tcx:${namespace}:user:1`)
    expect(raw).toMatch(/^tc1\|\d+\|\d+\|60000\|0\|j\{"a":1\}$/)
    const pttl = Number(await client.pTTL(`tcx:${namespace}:user:1`))
    expect(pttl).toBeGreaterThan(55_000)
    expect(pttl).toBeLessThanOrEqual(60_000)
    await cache.clear()
    await cache.close()
  })
})

describe('peek: the synchronous L1 read', () => {
  it('answers a fresh L1 value at once and counts it once; anything else is undefined and uncounted', async () => {
    const clock = fakeClock()
    const l2 = memoryStore({ clock })
    const cache = track(createCache({ namespace: uniqueName('peek'), l1: lru(), l2, clock, jitter: 0, ttl: '10s', refreshAhead: 0.5, loader: () => 'loaded' }))
    await cache.set('k', { v: 1 })
    expect(cache.peek('k')).toEqual({ v: 1 })
    expect(cache.stats()).toMatchObject({ requests: 1, tiers: { l1: { hits: 1 } } })
    expect(cache.peek('k', () => false)).toBeUndefined() // the caller's own test refused it
    expect(cache.peek('absent')).toBeUndefined()
    const other = track(createCache({ namespace: cache.namespace, l1: lru(), l2, clock, jitter: 0 }))
    expect(other.peek('k')).toBeUndefined() // in L2 only: peek never reads a shared tier
    clock.advance(5_001)
    expect(cache.peek('k')).toBeUndefined() // due for refresh-ahead: left to get(), which starts it
    expect(cache.stats().requests).toBe(1)
    clock.advance(5_000)
    expect(cache.peek('k')).toBeUndefined() // expired
    await cache.set('k', 2)
    cache.instrument()
    expect(cache.peek('k')).toBeUndefined() // instrumented: every read is timed through get()
    expect(cache.stats().requests).toBe(1)
  })
})
