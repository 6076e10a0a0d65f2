import { describe, expect, it } from 'vitest'
import { createCache, errors, type CacheEvent } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { memoryStore } from '../../adapters/memory.js'
import { fakeClock, sleep, testRedis, trackCaches, uniqueName } from '../support/helpers.js'

const track = trackCaches()

/** A loader whose calls are counted and whose answers are released by hand. */
function gatedLoader<T>(): { loader: () => Promise<T>; calls: () => number; release(value: T): void; fail(error: Error): void } {
  let calls = 0
  const pending: { resolve(value: T): void; reject(error: Error): void }[] = []
  return {
    loader: () => {
      calls++
      return new Promise<T>((resolve, reject) => pending.push({ resolve, reject }))
    },
    calls: () => calls,
    release: (value) => pending.shift()?.resolve(value),
    fail: (error) => pending.shift()?.reject(error),
  }
}

/** Lets promise callbacks and already-due timers run. */
const settle = (): Promise<void> => sleep(5)

function setup(options: Record<string, unknown> = {}) {
  const clock = fakeClock()
  const events: CacheEvent[] = []
  const cache = track(createCache({
    namespace: uniqueName(),
    l1: lru(),
    l2: memoryStore({ clock }),
    clock,
    jitter: 0,
    ttl: '10s',
    onEvent: (e) => events.push(e),
    ...options,
  }))
  return { clock, cache, events }
}

describe('grace and stale-while-revalidate', () => {
  it('serves an expired entry at once within grace, and refreshes it with one background load', async () => {
    const { clock, cache, events } = setup({ grace: '1m' })
    await cache.set('k', 'v1')
    clock.advance(11_000) // expired, within grace
    const gate = gatedLoader<string>()
    const answers = await Promise.all(Array.from({ length: 50 }, () => cache.getOrLoad('k', gate.loader)))
    expect(answers).toEqual(Array(50).fill('v1'))
    await settle()
    expect(gate.calls()).toBe(1)
    expect(cache.stats()).toMatchObject({ staleServed: 50, refreshes: { attempts: 1 } })
    gate.release('v2')
    await settle()
    expect(await cache.getOrLoad('k', gate.loader)).toBe('v2')
    expect(gate.calls()).toBe(1)
    expect(cache.stats().refreshes).toEqual({ attempts: 1, successes: 1, failures: 0 })
    expect(events.filter((e) => e.type === 'stale')).toHaveLength(50)
    expect(events.find((e) => e.type === 'stale')).toMatchObject({ key: 'k', reason: 'revalidate' })
  })

  it('past grace an entry is gone: the caller waits for the loader', async () => {
    const { clock, cache } = setup({ grace: '5s' })
    await cache.set('k', 'old')
    clock.advance(15_001)
    expect(await cache.getOrLoad('k', async () => 'new')).toBe('new')
    expect(cache.stats().staleServed).toBe(0)
  })

  it('allowStale: false waits for a fresh value', async () => {
    const { clock, cache } = setup({ grace: '1m' })
    await cache.set('k', 'old')
    clock.advance(11_000)
    expect(await cache.getOrLoad('k', async () => 'fresh', { allowStale: false })).toBe('fresh')
    expect(cache.stats().staleServed).toBe(0)
  })

  it('a plain get returns a stale value within grace unless allowStale is false', async () => {
    const { clock, cache } = setup({ grace: '1m' })
    await cache.set('k', 'old')
    clock.advance(11_000)
    expect(await cache.get('k')).toBe('old')
    expect(await cache.get('k', { allowStale: false })).toBeUndefined()
    expect((await cache.mget(['k'])).get('k')).toBe('old')
    expect((await cache.mget(['k'], { allowStale: false })).get('k')).toBeUndefined()
  })

  it('a stale entry in L2 is found by another instance and refreshed there', async () => {
    const clock = fakeClock()
    const l2 = memoryStore({ clock })
    const namespace = uniqueName()
    const writer = track(createCache({ namespace, l1: false, l2, clock, jitter: 0, ttl: '10s', grace: '1m' }))
    const reader = track(createCache({ namespace, l1: lru(), l2, clock, jitter: 0, ttl: '10s', grace: '1m' }))
    await writer.set('k', 'v1')
    clock.advance(20_000)
    expect(await reader.getOrLoad('k', async () => 'v2')).toBe('v1')
    await settle()
    expect(await writer.get('k')).toBe('v2') // the refresh wrote L2 too
  })

  it('keeps the entry in L2 for ttl + grace', async () => {
    const store = testRedis()
    const namespace = uniqueName()
    const cache = track(createCache({ namespace, l1: false, l2: store, ttl: '10s', grace: '50s', jitter: 0 }))
    await cache.set('k', 1)
    const pttl = Number(await (await store.client()).pTTL(`tiercache:${namespace}:k`))
    expect(pttl).toBeGreaterThan(59_000)
    expect(pttl).toBeLessThanOrEqual(60_000)
  })
})

describe('stale on error', () => {
  it('without stale-while-revalidate, waits for the loader and serves stale only when it fails', async () => {
    const { clock, cache, events } = setup({ grace: '1m', staleWhileRevalidate: false })
    await cache.set('k', 'old')
    clock.advance(11_000)
    expect(await cache.getOrLoad('k', async () => {
      throw new Error('db down')
    })).toBe('old')
    expect(events.find((e) => e.type === 'stale')).toMatchObject({ reason: 'error' })
    expect(await cache.getOrLoad('k', async () => 'fresh')).toBe('fresh')
    expect(cache.stats()).toMatchObject({ staleServed: 1, loadErrors: 1 })
  })

  it('with staleOnError: false, or with nothing stale, the error propagates and is not cached', async () => {
    const { clock, cache } = setup({ grace: '1m', staleWhileRevalidate: false, staleOnError: false })
    await cache.set('k', 'old')
    clock.advance(11_000)
    await expect(cache.getOrLoad('k', async () => {
      throw new Error('db down')
    })).rejects.toThrow('db down')
    await expect(cache.getOrLoad('cold', async () => {
      throw new Error('db down')
    })).rejects.toThrow('db down')
    expect(await cache.getOrLoad('cold', async () => 'later')).toBe('later')
  })

  it('mgetOrLoad serves stale values when its batch loader fails', async () => {
    const { clock, cache } = setup({ grace: '1m' })
    await cache.mset([['a', 1], ['b', 2]])
    clock.advance(11_000)
    const result = await cache.mgetOrLoad(['a', 'b'], async () => {
      throw new Error('batch down')
    })
    expect(Object.fromEntries(result)).toEqual({ a: 1, b: 2 })
    await expect(cache.mgetOrLoad(['a', 'new'], async () => {
      throw new Error('batch down')
    })).rejects.toThrow('batch down') // 'new' has nothing stale to fall back on
  })
})

describe('refresh-ahead', () => {
  it('a hit in the last part of the ttl returns the value and starts one background refresh', async () => {
    const { clock, cache } = setup({ refreshAhead: 0.2 })
    let calls = 0
    const loader = async () => `v${++calls}`
    expect(await cache.getOrLoad('k', loader)).toBe('v1')
    clock.advance(7_000) // 70 % of the ttl: no refresh yet
    expect(await cache.getOrLoad('k', loader)).toBe('v1')
    await settle()
    expect(calls).toBe(1)
    clock.advance(1_500) // 85 %: in the refresh window
    const during = await Promise.all(Array.from({ length: 20 }, () => cache.getOrLoad('k', loader)))
    expect(during).toEqual(Array(20).fill('v1'))
    await settle()
    expect(calls).toBe(2) // one refresh for twenty hits
    expect(await cache.getOrLoad('k', loader)).toBe('v2')
    expect(cache.stats().refreshes).toEqual({ attempts: 1, successes: 1, failures: 0 })
  })

  it('works with the cache-level loader through get, and from an L2 hit', async () => {
    const clock = fakeClock()
    const l2 = memoryStore({ clock })
    const namespace = uniqueName()
    let calls = 0
    const options = { namespace, l2, clock, jitter: 0, ttl: '10s', refreshAhead: 0.5, loader: async () => `v${++calls}` } as const
    const a = track(createCache({ ...options, l1: lru() }))
    const b = track(createCache({ ...options, l1: lru() }))
    expect(await a.get('k')).toBe('v1')
    clock.advance(6_000)
    expect(await b.get('k')).toBe('v1') // an L2 hit inside the window
    await settle()
    expect(calls).toBe(2)
    expect(await a.get('k', { disableLoad: true })).toBe('v1') // a's L1 still holds v1 …
    expect(await b.get('k')).toBe('v2') // … b refreshed
  })

  it('refresh failures are counted and reported, never thrown', async () => {
    const { clock, cache, events } = setup({ refreshAhead: 0.2 })
    await cache.set('k', 'v1')
    clock.advance(9_000)
    expect(await cache.getOrLoad('k', async () => {
      throw new Error('refresh broke')
    })).toBe('v1')
    await settle()
    expect(cache.stats().refreshes).toEqual({ attempts: 1, successes: 0, failures: 1 })
    expect(events.find((e) => e.type === 'refresh:error')).toMatchObject({ key: 'k', error: { message: 'refresh broke' } })
    expect(await cache.get('k')).toBe('v1')
  })

  it('hands background refreshes to waitUntil', async () => {
    const handed: Promise<unknown>[] = []
    const { clock, cache } = setup({ refreshAhead: 0.2, waitUntil: (p: Promise<unknown>) => handed.push(p) })
    await cache.set('k', 'v1')
    clock.advance(9_000)
    const before = handed.length
    await cache.getOrLoad('k', async () => 'v2')
    expect(handed.length).toBe(before + 1) // the refresh
    await Promise.all(handed)
    expect(await cache.get('k')).toBe('v2')
  })

  it('rejects a refreshAhead outside (0, 1)', () => {
    for (const refreshAhead of [0, 1, 1.5, -0.1, 'soon']) {
      expect(() => createCache({ namespace: 'x', refreshAhead: refreshAhead as number })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'refreshAhead' }))
    }
  })
})

describe('loader timeouts', () => {
  it('hard: rejects with E_LOADER_TIMEOUT; the loader goes on and its late result is cached', async () => {
    const { cache, events } = setup({ loaderTimeout: { hard: 30 } })
    const gate = gatedLoader<string>()
    const err = await cache.getOrLoad('k', gate.loader).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(errors.LoaderTimeoutError)
    expect(err).toMatchObject({ code: 'E_LOADER_TIMEOUT', key: 'k', timeout: 30 })
    expect(events.find((e) => e.type === 'load:timeout')).toMatchObject({ keys: ['k'], timeout: 30 })
    gate.release('late')
    await settle()
    expect(await cache.get('k')).toBe('late')
    expect(cache.stats()).toMatchObject({ loadTimeouts: 1, loadErrors: 0 })
  })

  it('hard: a loader that hangs for ever does not hold callers past the timeout, and nothing is cached', async () => {
    const { cache } = setup({ loaderTimeout: { hard: 20 } })
    const hang = () => new Promise<string>(() => undefined)
    await expect(cache.getOrLoad('k', hang)).rejects.toMatchObject({ code: 'E_LOADER_TIMEOUT' })
    expect(await cache.get('k')).toBeUndefined()
  })

  it('soft: with a stale value, answers with it after the soft timeout; the load lands later', async () => {
    const { clock, cache, events } = setup({ grace: '1m', staleWhileRevalidate: false, loaderTimeout: { soft: 20, hard: 1000 } })
    await cache.set('k', 'old')
    clock.advance(11_000)
    const gate = gatedLoader<string>()
    expect(await cache.getOrLoad('k', gate.loader)).toBe('old')
    expect(events.find((e) => e.type === 'stale')).toMatchObject({ reason: 'timeout' })
    gate.release('new')
    await settle()
    expect(await cache.get('k')).toBe('new')
  })

  it('soft: without a stale value the caller waits for the loader', async () => {
    const { cache } = setup({ loaderTimeout: { soft: 10 } })
    expect(await cache.getOrLoad('k', async () => {
      await sleep(40)
      return 'slow but fresh'
    })).toBe('slow but fresh')
  })

  it('a loader that returns null is cached as null; one that throws is not cached', async () => {
    const { cache } = setup({ loaderTimeout: { hard: 100 } })
    expect(await cache.getOrLoad('n', async () => null)).toBeNull()
    expect(await cache.getOrLoad('n', async () => 'not called')).toBeNull()
    await expect(cache.getOrLoad('e', async () => {
      throw new Error('boom')
    })).rejects.toThrow('boom')
    expect(await cache.getOrLoad('e', async () => 'ok')).toBe('ok')
  })

  it('rejects a soft timeout that is not shorter than the hard one', () => {
    expect(() => createCache({ namespace: 'x', loaderTimeout: { soft: '2s', hard: '1s' } })).toThrow(expect.objectContaining({ option: 'loaderTimeout.soft' }))
    expect(() => createCache({ namespace: 'x', loaderTimeout: { hrad: 5 } as never })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION' }))
  })
})
