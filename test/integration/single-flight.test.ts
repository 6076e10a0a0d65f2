import { describe, expect, it } from 'vitest'
import { createCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { backends } from '../support/backends.js'
import { counting, sleep, trackCaches, uniqueName } from '../support/helpers.js'

const track = trackCaches()

describe.each(backends)('single-flight over $name', ({ shared }) => {
  it('1000 concurrent callers on a cold key: exactly 1 loader call and 1 L2 read', async () => {
    const { store, counts } = counting(shared()())
    const cache = track(createCache({ namespace: uniqueName(), l1: lru(), l2: store }))
    let calls = 0
    const loader = async () => {
      calls++
      await sleep(20)
      return { big: 'value' }
    }
    const results = await Promise.all(Array.from({ length: 1000 }, () => cache.getOrLoad('cold', loader)))
    expect(calls).toBe(1)
    expect(counts.get).toBe(1)
    expect(counts.set).toBe(1)
    expect(new Set(results).size).toBe(1) // every caller got the same value
    expect(results[0]).toEqual({ big: 'value' })
    expect(cache.stats()).toMatchObject({ requests: 1000, misses: 1000, loads: 1, coalesced: 999, inflightLoads: 0 })
  })

  it('a loader error reaches every waiter and is never cached', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    let calls = 0
    const failing = async () => {
      calls++
      await sleep(10)
      throw new Error('database down')
    }
    const settled = await Promise.allSettled(Array.from({ length: 50 }, () => cache.getOrLoad('k', failing)))
    expect(calls).toBe(1)
    expect(settled.every((s) => s.status === 'rejected' && (s.reason as Error).message === 'database down')).toBe(true)
    expect(await cache.getOrLoad('k', async () => 'recovered')).toBe('recovered')
    expect(cache.stats()).toMatchObject({ loads: 2, loadErrors: 1, requests: 51, misses: 51 })
  })

  it('a synchronous throw in the loader is a rejection, not a crash', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    await expect(cache.getOrLoad('k', () => {
      throw new Error('sync boom')
    })).rejects.toThrow('sync boom')
  })

  it('a synchronous value, a promise and a foreign thenable are all loaded and cached alike', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l1: false, l2: shared()() }))
    const thenable = { then: (resolve: (v: string) => void) => resolve('from thenable') }
    expect(await cache.getOrLoad('sync', () => 'from value')).toBe('from value')
    expect(await cache.getOrLoad('promise', async () => 'from promise')).toBe('from promise')
    expect(await cache.getOrLoad('thenable', () => thenable as unknown as Promise<string>)).toBe('from thenable')
    expect(await cache.mget(['sync', 'promise', 'thenable'])).toEqual(new Map([['sync', 'from value'], ['promise', 'from promise'], ['thenable', 'from thenable']]))
    await expect(cache.getOrLoad('undefined', () => undefined as unknown as string)).rejects.toMatchObject({ code: 'E_LOADER_RESULT' })
  })

  it('a set during a load wins: the load result is returned but not written over it', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const loading = cache.getOrLoad('k', async () => {
      await sleep(30)
      return 'old from loader'
    })
    await sleep(5)
    await cache.set('k', 'new from set')
    expect(await loading).toBe('old from loader')
    expect(await cache.get('k')).toBe('new from set')
  })

  it('a delete during a load wins too', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const loading = cache.getOrLoad('k', async () => {
      await sleep(30)
      return 'loaded'
    })
    await sleep(5)
    await cache.delete('k')
    await loading
    expect(await cache.get('k', { disableLoad: true })).toBeUndefined()
  })

  it('concurrent plain gets of one key share one L2 read, and a loader is not skipped by a plain get in flight', async () => {
    const { store, counts } = counting(shared()())
    const cache = track(createCache({ namespace: uniqueName(), l1: lru(), l2: store }))
    const gets = Array.from({ length: 10 }, () => cache.get('k'))
    const loaded = cache.getOrLoad('k', async () => 'v')
    expect(await Promise.all(gets)).toEqual(Array(10).fill(undefined))
    expect(await loaded).toBe('v')
    // the plain gets' flight and the loading flight read in the same tick: one read of the key
    expect(counts.get + counts.mget).toBe(1)
  })
})
