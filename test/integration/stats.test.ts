import { describe, expect, it } from 'vitest'
import { createCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { memoryStore } from '../../adapters/memory.js'
import { uniqueName } from '../support/helpers.js'

describe('stats', () => {
  it('counts each request exactly once: requests = tier hits + misses', async () => {
    const l2 = memoryStore()
    const namespace = uniqueName()
    const seed = createCache({ namespace, l1: false, l2 })
    await seed.mset([['inL2', 1], ['inL2b', 2]])
    const cache = createCache({ namespace, l1: lru(), l2 })
    await cache.set('inL1', 0)

    await cache.get('inL1') // l1 hit
    await cache.get('inL2') // l2 hit + promotion
    await cache.get('inL2') // now l1 hit
    await cache.get('absent') // miss
    await cache.getOrLoad('loaded', () => 'v') // miss + load
    await cache.mget(['inL1', 'inL2b', 'nope', 'nope']) // l1 hit, l2 hit, miss (duplicate once)
    await Promise.all([cache.getOrLoad('x', async () => 1), cache.getOrLoad('x', async () => 1)]) // 2 misses, 1 load, 1 coalesced

    const s = cache.stats()
    expect(s.requests).toBe(10)
    expect(s.tiers.l1!.hits + s.tiers.l2!.hits + s.misses).toBe(s.requests)
    expect(s).toMatchObject({
      namespace,
      hits: 5,
      misses: 5,
      tiers: { l1: { name: 'lru', hits: 3, misses: 7 }, l2: { name: 'memory', hits: 2, misses: 4 } },
      promotions: 2,
      loads: 2,
      loadErrors: 0,
      inflightLoads: 0,
      coalesced: 1,
      corrupt: 0,
      l2Errors: 0,
      sets: 3,
    })
    expect(s.hitRate).toBeCloseTo(5 / 10)
  })

  it('shows loads in flight while they run', async () => {
    const cache = createCache({ namespace: uniqueName() })
    let release!: () => void
    const pending = cache.getOrLoad('k', () => new Promise<string>((resolve) => (release = () => resolve('v'))))
    await new Promise((r) => setTimeout(r, 5))
    expect(cache.stats().inflightLoads).toBe(1)
    release()
    await pending
    expect(cache.stats().inflightLoads).toBe(0)
    expect(createCache({ namespace: 'fresh' }).stats().hitRate).toBe(0)
  })
})
