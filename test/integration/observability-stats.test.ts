import { describe, expect, it } from 'vitest'
import { createCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import type { CacheEvent, CacheOptions, L2Store, TierCache } from '../../src/index.js'
import { backends } from '../support/backends.js'
import { fakeClock, sleep, trackCaches, uniqueName } from '../support/helpers.js'

const track = trackCaches()

/** A cache whose events are recorded, and a check that every request was counted exactly once. */
function observed(options: Omit<CacheOptions, 'namespace' | 'onEvent'> & { namespace?: string }) {
  const events: CacheEvent[] = []
  const cache = track(createCache({ namespace: uniqueName('obs'), invalidation: false, jitter: 0, ...options, onEvent: (e) => events.push(e) }))
  const exact = (): ReturnType<TierCache['stats']> => {
    const s = cache.stats()
    const tierHits = Object.values(s.tiers).reduce((sum, t) => sum + t.hits, 0)
    expect(s.hits, 'hits = Σ tier hits').toBe(tierHits)
    expect(tierHits + s.misses, 'requests = Σ tier hits + misses').toBe(s.requests)
    const hits = events.filter((e) => e.type === 'hit')
    const misses = events.filter((e) => e.type === 'miss')
    expect(hits.length, 'one hit event per hit').toBe(s.hits)
    expect(misses.length, 'one miss event per miss').toBe(s.misses)
    for (const [label, t] of Object.entries(s.tiers)) expect(hits.filter((e) => e.type === 'hit' && e.tier === label).length, `hit events of ${label}`).toBe(t.hits)
    expect(hits.filter((e) => e.type === 'hit' && e.stale).length, 'stale hit events = staleServed').toBe(s.staleServed)
    const loads = events.filter((e) => e.type === 'load')
    expect(loads.length, 'one load event per loader call').toBe(s.loads - s.inflightLoads)
    expect(loads.filter((e) => e.type === 'load' && !e.ok).length, 'failed load events = loadErrors').toBe(s.loadErrors)
    return s
  }
  return { cache, events, exact }
}

describe.each(backends)('stats count every request exactly once over $name', ({ shared }) => {
  it('L1 hits, L2 hits with promotion, misses, loads and per-tier hit rates', async () => {
    const l2 = shared()
    const namespace = uniqueName('obs')
    const seed = track(createCache({ namespace, l1: false, l2: l2(), invalidation: false }))
    await seed.mset([['inL2', 1], ['inL2b', 2]])
    const { cache, events, exact } = observed({ namespace, l1: lru(), l2: l2() })

    expect(await cache.get('absent')).toBeUndefined() // miss, not loaded
    expect(await cache.getOrLoad('loaded', () => 'v')).toBe('v') // miss, loaded
    expect(await cache.get('loaded')).toBe('v') // l1
    expect(await cache.get('inL2')).toBe(1) // l2 + promotion
    expect(await cache.get('inL2')).toBe(1) // l1
    let s = exact()
    expect(s).toMatchObject({ requests: 5, hits: 3, misses: 2, promotions: 1, loads: 1 })
    expect(s.tiers.l1).toMatchObject({ hits: 2, misses: 3, hitRate: 2 / 5, entries: 2 })
    // 3 requests reached L2 (absent, loaded, the first inL2): it answered one
    expect(s.tiers.l2).toMatchObject({ hits: 1, hitRate: 1 / 3 })
    expect(s.hitRate).toBeCloseTo(3 / 5)
    expect(events.filter((e) => e.type === 'miss').map((e) => e.type === 'miss' && [e.key, e.loaded])).toEqual([['absent', false], ['loaded', true]])
    expect(events.find((e) => e.type === 'hit' && e.key === 'inL2')).toEqual({ type: 'hit', namespace: cache.namespace, key: 'inL2', tier: 'l2', stale: false })

    // batches: each distinct key once, duplicates once
    const got = await cache.mget(['loaded', 'inL2b', 'nope', 'nope'])
    expect([...got.values()]).toEqual(['v', 2, undefined])
    s = exact()
    expect(s).toMatchObject({ requests: 8, hits: 5, misses: 3, promotions: 2 })
  })

  it('coalesced gets count once each, with one load', async () => {
    const { cache, exact } = observed({ l1: lru(), l2: shared()() })
    let calls = 0
    const slow = async (): Promise<string> => {
      calls++
      await sleep(30)
      return 'x'
    }
    const results = await Promise.all([cache.getOrLoad('c', slow), cache.getOrLoad('c', slow), cache.get('c'), cache.getOrLoad('c', slow)])
    expect(results).toEqual(['x', 'x', 'x', 'x'])
    expect(calls).toBe(1)
    const s = exact()
    expect(s).toMatchObject({ requests: 4, misses: 4, loads: 1, coalesced: 3, inflightLoads: 0 })
  })

  it('stale-while-revalidate and refresh-ahead: the caller counts once, the refresh is not a request', async () => {
    const clock = fakeClock()
    const { cache, events, exact } = observed({ l1: lru(), l2: shared()(), ttl: '10s', grace: '1h', refreshAhead: 0.5, clock })
    let version = 0
    const loader = async (): Promise<number> => ++version
    expect(await cache.getOrLoad('k', loader)).toBe(1)
    clock.advance(6_000) // inside the refresh-ahead window (last 50 % of 10 s)
    expect(await cache.getOrLoad('k', loader)).toBe(1) // l1 hit + background refresh
    await expect.poll(() => cache.stats().refreshes.successes).toBe(1)
    let s = exact()
    expect(s).toMatchObject({ requests: 2, hits: 1, misses: 1, loads: 2, refreshes: { attempts: 1, successes: 1, failures: 0 } })

    clock.advance(20_000) // expired, inside grace: stale served, one background refresh
    expect(await cache.getOrLoad('k', loader)).toBe(2)
    await expect.poll(() => cache.stats().refreshes.successes).toBe(2)
    s = exact()
    expect(s).toMatchObject({ requests: 3, hits: 2, misses: 1, staleServed: 1, loads: 3 })
    expect(events.filter((e) => e.type === 'stale')).toHaveLength(1)
    expect(await cache.get('k')).toBe(3) // the refreshed value, from L1
    expect(exact()).toMatchObject({ requests: 4, hits: 3, staleServed: 1 })
  })

  it('a caller refusing stale values whose own load fails is counted once', async () => {
    const clock = fakeClock()
    const { cache, exact } = observed({ l1: lru(), l2: shared()(), ttl: '10s', grace: '1h', staleWhileRevalidate: false, clock })
    await cache.set('k', 'old')
    clock.advance(20_000)
    const failing = async (): Promise<string> => {
      await sleep(10)
      throw new Error('db down')
    }
    // the first serves stale on error; the second joins it, refuses the stale value, loads itself and fails
    const [first, second] = await Promise.allSettled([cache.getOrLoad('k', failing), cache.getOrLoad('k', failing, { allowStale: false })])
    expect(first).toEqual({ status: 'fulfilled', value: 'old' })
    expect(second.status).toBe('rejected')
    const s = exact()
    expect(s).toMatchObject({ requests: 2, hits: 1, misses: 1, staleServed: 1, loads: 2, loadErrors: 2, coalesced: 1 })
  })

  it('mgetOrLoad: joined keys count once, also when the batch fails', async () => {
    const { cache, exact } = observed({ l1: lru(), l2: shared()() })
    const slowOne = async (): Promise<string> => {
      await sleep(30)
      return 'one'
    }
    const single = cache.getOrLoad('j', slowOne)
    await sleep(1)
    const batch = await cache.mgetOrLoad(['j', 'k', 'k'], async (missing) => Object.fromEntries(missing.map((key) => [key, `b-${key}`])))
    expect(await single).toBe('one')
    expect([...batch]).toEqual([['j', 'one'], ['k', 'b-k']])
    let s = exact()
    expect(s).toMatchObject({ requests: 3, misses: 3, loads: 2, coalesced: 1 })

    const single2 = cache.getOrLoad('j2', slowOne)
    await sleep(1)
    await expect(cache.mgetOrLoad(['j2', 'k2'], async () => {
      throw new Error('batch down')
    })).rejects.toThrow('batch down')
    expect(await single2).toBe('one')
    s = exact()
    expect(s).toMatchObject({ requests: 6, misses: 6, loads: 4, loadErrors: 1, coalesced: 2 })
  })

  it('a hard loader timeout is one request, one load, one timeout', async () => {
    const { cache, exact } = observed({ l1: lru(), l2: shared()(), loaderTimeout: { hard: '30ms' } })
    await expect(cache.getOrLoad('t', async () => {
      await sleep(120)
      return 'late'
    })).rejects.toMatchObject({ code: 'E_LOADER_TIMEOUT' })
    let s = exact()
    expect(s).toMatchObject({ requests: 1, misses: 1, loadTimeouts: 1 })
    await expect.poll(() => cache.stats().inflightLoads).toBe(0)
    s = exact()
    expect(s.loads).toBe(1)
    expect(await cache.get('t')).toBe('late') // the late result was cached
    expect(exact()).toMatchObject({ requests: 2, hits: 1 })
  })
})

describe('stats with a failing shared tier', () => {
  it('reads of a dead L2 count once each, as L2 misses, and the circuit shows in stats', async () => {
    const dead: L2Store = {
      kind: 'l2',
      name: 'dead',
      get: async () => {
        throw new Error('connection refused')
      },
      set: async () => {
        throw new Error('connection refused')
      },
      delete: async () => undefined,
      clear: async () => 0,
    }
    const { cache, exact } = observed({ l1: lru(), l2: dead, circuitBreaker: { failures: 2, cooldown: '1m' } })
    for (let i = 0; i < 4; i++) expect(await cache.get(`k${i}`)).toBeUndefined()
    const s = exact()
    expect(s).toMatchObject({ requests: 4, misses: 4, l2Skipped: 2 })
    expect(s.l2Errors).toBeGreaterThanOrEqual(4)
    expect(s.tiers.l2).toMatchObject({ circuit: 'open', circuitOpened: 1, hits: 0, misses: 4, hitRate: 0 })
  })
})
