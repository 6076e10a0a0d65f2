import { describe, expect, it } from 'vitest'
import { createCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import type { CacheEvent, L2Store } from '../../src/index.js'
import { backends } from '../support/backends.js'
import { trackCaches, uniqueName } from '../support/helpers.js'

const track = trackCaches()

describe.each(backends)('onEvent over $name', ({ shared }) => {
  it('reports hits, misses, loads, load errors and invalidations from other instances', async () => {
    const l2 = shared()
    const namespace = uniqueName('ev')
    const seen: CacheEvent[] = []
    const a = track(createCache({ namespace, l1: lru(), l2: l2() }))
    const b = track(createCache({ namespace, l1: lru(), l2: l2(), onEvent: (e) => seen.push(e) }))
    await Promise.all([a.ready(), b.ready()])

    await b.getOrLoad('k', async () => 'v')
    await b.get('k')
    await expect(b.getOrLoad('bad', async () => {
      throw new Error('nope')
    })).rejects.toThrow('nope')
    const types = seen.map((e) => e.type)
    expect(types).toEqual(['load', 'miss', 'hit', 'load:error', 'load', 'miss'])
    expect(seen[0]).toMatchObject({ type: 'load', namespace, keys: ['k'], ok: true })
    expect((seen[0] as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(0)
    expect(seen[1]).toEqual({ type: 'miss', namespace, key: 'k', loaded: true })
    expect(seen[2]).toEqual({ type: 'hit', namespace, key: 'k', tier: 'l1', stale: false })
    expect(seen[4]).toMatchObject({ type: 'load', keys: ['bad'], ok: false })

    seen.length = 0
    await a.set('k', 'v2') // another instance writes: b drops its L1 copy
    await expect.poll(() => seen.find((e) => e.type === 'invalidation'), { timeout: 5000 }).toEqual({ type: 'invalidation', namespace, keys: ['k'] })
    expect(await b.get('k')).toBe('v2')
    expect(seen.at(-1)).toEqual({ type: 'hit', namespace, key: 'k', tier: 'l2', stale: false })
  })
})

describe('onEvent for a failing shared tier', () => {
  it('reports L2 errors and circuit changes', async () => {
    let down = true
    const store: L2Store = {
      kind: 'l2',
      name: 'flaky',
      get: async () => {
        if (down) throw new Error('refused')
        return null
      },
      set: async () => undefined,
      delete: async () => undefined,
      clear: async () => 0,
    }
    let now = 1_000_000
    const seen: CacheEvent[] = []
    const cache = track(createCache({
      namespace: uniqueName('ev'), l1: lru(), l2: store, clock: { now: () => now },
      circuitBreaker: { failures: 2, cooldown: '1s' }, onEvent: (e) => seen.push(e),
    }))
    await cache.get('a')
    await cache.get('b')
    await cache.get('c') // skipped: open
    expect(seen.filter((e) => e.type === 'l2:error').map((e) => e.type === 'l2:error' && [e.tier, e.operation, e.skipped])).toEqual([
      ['l2', 'get', false], ['l2', 'get', false], ['l2', 'get', true],
    ])
    down = false
    now += 1500
    await cache.get('d') // the probe succeeds
    expect(seen.filter((e) => e.type === 'circuit').map((e) => e.type === 'circuit' && e.state)).toEqual(['open', 'half-open', 'closed'])
    expect(seen.filter((e) => e.type === 'miss')).toHaveLength(4)
  })
})
