import { describe, expect, it } from 'vitest'
import { createCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { backends } from '../support/backends.js'
import { counting, sleep, testRedis, trackCaches, uniqueName } from '../support/helpers.js'

const track = trackCaches()

describe.each(backends)('batches over $name', ({ shared }) => {
  it('mget resolves to a Map in key order, absent keys to undefined, with one L2 round trip', async () => {
    const namespace = uniqueName()
    const l2 = shared()
    const writer = track(createCache({ namespace, l1: false, l2: l2() }))
    await writer.mset([['a', 1], ['c', null], ['d', { d: true }]])
    const { store, counts } = counting(l2())
    const reader = track(createCache({ namespace, l1: lru(), l2: store }))
    await reader.set('d', 'from L1 of reader')
    const result = await reader.mget(['a', 'b', 'c', 'd', 'a'])
    expect([...result.entries()]).toEqual([['a', 1], ['b', undefined], ['c', null], ['d', 'from L1 of reader']])
    expect(counts.mget).toBe(1)
    expect(counts.get).toBe(0)
    expect(reader.stats()).toMatchObject({ requests: 4, hits: 3, misses: 1, tiers: { l1: { hits: 1, misses: 3 }, l2: { hits: 2, misses: 1 } } })
    // promoted: a second mget is all L1 (but the miss)
    await reader.mget(['a', 'c'])
    expect(counts.mget).toBe(1)
    expect(await reader.mget([])).toEqual(new Map())
  })

  it('mset writes one pipeline per L2 and mdelete one delete', async () => {
    const { store, counts } = counting(shared()())
    const cache = track(createCache({ namespace: uniqueName(), l2: store }))
    await cache.mset(new Map(Array.from({ length: 100 }, (_, i) => [`k${i}`, i] as const)))
    expect(counts.mset).toBe(1)
    expect(counts.set).toBe(0)
    const other = track(createCache({ namespace: cache.namespace, l1: false, l2: store }))
    expect((await other.mget(['k0', 'k99'])).get('k99')).toBe(99)
    await cache.mdelete(Array.from({ length: 100 }, (_, i) => `k${i}`))
    expect(counts.delete).toBe(1)
    expect([...(await other.mget(['k0', 'k50', 'k99'])).values()]).toEqual([undefined, undefined, undefined])
  })

  it('mgetOrLoad de-duplicates, loads only the misses in one call, negative-caches what the loader left out, writes back in one batch', async () => {
    const { store, counts } = counting(shared()())
    const cache = track(createCache({ namespace: uniqueName(), l2: store }))
    await cache.set('have', 'cached')
    const seen: string[][] = []
    const batchLoader = async (keys: string[]) => {
      seen.push(keys)
      return new Map(keys.filter((k) => k !== 'ghost').map((k) => [k, `loaded:${k}`]))
    }
    counts.mset = 0
    const result = await cache.mgetOrLoad(['have', 'x', 'y', 'x', 'ghost'], batchLoader)
    expect([...result.entries()]).toEqual([['have', 'cached'], ['x', 'loaded:x'], ['y', 'loaded:y'], ['ghost', null]])
    expect(seen).toEqual([['x', 'y', 'ghost']])
    expect(counts.mset).toBe(1)
    const again = await cache.mgetOrLoad(['x', 'ghost'], batchLoader)
    expect([...again.values()]).toEqual(['loaded:x', null])
    expect(seen).toHaveLength(1)
    expect(cache.stats()).toMatchObject({ loads: 1, requests: 6 })
  })

  it('mgetOrLoad accepts a plain object, and a loader error rejects without caching', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    expect(Object.fromEntries(await cache.mgetOrLoad(['a', 'b'], () => ({ a: 1 })))).toEqual({ a: 1, b: null })
    await expect(cache.mgetOrLoad(['c'], async () => {
      throw new Error('batch failed')
    })).rejects.toThrow('batch failed')
    await expect(cache.mgetOrLoad(['c'], async () => 'not a map' as never)).rejects.toMatchObject({ code: 'E_LOADER_RESULT' })
    expect(await cache.get('c', { disableLoad: true })).toBeUndefined()
  })

  it('mgetOrLoad joins keys another call is loading, and single loads join a batch', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    let singleCalls = 0
    const single = cache.getOrLoad('a', async () => {
      singleCalls++
      await sleep(30)
      return 'single'
    })
    const batchKeys: string[][] = []
    let batchStarted!: () => void
    const started = new Promise<void>((resolve) => (batchStarted = resolve))
    const batch = cache.mgetOrLoad(['a', 'b'], async (keys) => {
      batchKeys.push(keys)
      batchStarted()
      await sleep(30)
      return { b: 'batch' }
    })
    await started
    const joiner = cache.getOrLoad('b', async () => 'should not run')
    expect(await single).toBe('single')
    expect(Object.fromEntries(await batch)).toEqual({ a: 'single', b: 'batch' })
    expect(await joiner).toBe('batch')
    expect(singleCalls).toBe(1)
    expect(batchKeys).toEqual([['b']])
  })

  it('warmup loads missing keys in chunks and reports counts', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    await cache.set('k0', 'already')
    const chunks: string[][] = []
    const report = await cache.warmup(Array.from({ length: 25 }, (_, i) => `k${i}`), (keys) => {
      chunks.push(keys)
      return Object.fromEntries(keys.map((k) => [k, k.toUpperCase()]))
    }, { chunkSize: 10 })
    expect(report).toEqual({ keys: 25, loaded: 24, cached: 1 })
    expect(chunks.map((c) => c.length)).toEqual([9, 10, 5])
    expect(await cache.get('k24')).toBe('K24')
    expect(await cache.get('k0')).toBe('already')
  })

  it('clear removes this namespace only, in every instance L2', async () => {
    const l2 = shared()
    const namespace = uniqueName()
    const a = track(createCache({ namespace, l2: l2() }))
    const b = track(createCache({ namespace, l1: false, l2: l2() }))
    const neighbour = track(createCache({ namespace: `${namespace}-x`, l2: l2() }))
    await a.mset([['1', 1], ['2', 2]])
    await neighbour.set('1', 'keep')
    await a.clear()
    expect(await a.get('1')).toBeUndefined()
    expect(await b.get('2')).toBeUndefined()
    expect(await neighbour.get('1')).toBe('keep')
  })
})

describe('clear on redis', () => {
  it('leaves foreign keys alone and removes many keys in SCAN batches', async () => {
    const store = testRedis()
    const client = await store.client()
    const namespace = uniqueName()
    const foreign = `${namespace}:not-ours`
    await client.set(foreign, 'x')
    const cache = createCache({ namespace, l1: false, l2: store })
    await cache.mset(Array.from({ length: 2500 }, (_, i) => [`k${i}`, i] as const))
    await cache.clear()
    expect(await client.exists(`tiercache:${namespace}:k7`)).toBe(0)
    expect(await client.get(foreign)).toBe('x')
    await client.del(foreign)
    await cache.close()
  })
})
