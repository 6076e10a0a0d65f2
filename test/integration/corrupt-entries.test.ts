import { describe, expect, it } from 'vitest'
import { createCache, type CacheEvent } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { testRedis, uniqueName } from '../support/helpers.js'

describe('corrupt or foreign entries in Redis', () => {
  const payloads = [
    'plain text written by another app',
    '{"json":"but not ours"}',
    'tc1|broken',
    `tc1|${Date.now() + 60_000}|${Date.now() + 60_000}|60000|0|j{not json`,
    `tc1|${Date.now() + 60_000}|${Date.now() + 60_000}|60000|0|t{"$t":"zz"}`,
    `tc1|${Date.now() + 60_000}|${Date.now() + 60_000}|60000|9|["a"]j1`,
    '',
  ]

  it('are counted misses: get resolves undefined, getOrLoad loads and overwrites, mget keeps going', async () => {
    const store = testRedis()
    const client = await store.client()
    const namespace = uniqueName()
    const events: CacheEvent[] = []
    const cache = createCache({ namespace, l1: lru(), l2: store, onEvent: (e) => events.push(e) })
    for (const [i, payload] of payloads.entries()) await client.set(`tiercache:${namespace}:bad${i}`, payload)

    for (let i = 0; i < payloads.length; i++) expect(await cache.get(`bad${i}`)).toBeUndefined()
    expect(cache.stats()).toMatchObject({ corrupt: payloads.length, misses: payloads.length })
    expect(events.filter((e) => e.type === 'corrupt')).toHaveLength(payloads.length)

    expect(await cache.getOrLoad('bad0', () => 'fresh')).toBe('fresh')
    expect(await client.get(`tiercache:${namespace}:bad0`)).toMatch(/^tc1\|/)

    const many = await cache.mget(payloads.map((_, i) => `bad${i}`))
    expect(many.get('bad0')).toBe('fresh')
    expect(many.get('bad1')).toBeUndefined()
    await cache.clear()
    await cache.close()
  })

  it('a wrong type at the key (a Redis hash) is an L2 error, not a crash', async () => {
    const store = testRedis()
    const client = await store.client()
    const namespace = uniqueName()
    await client.hSet(`tiercache:${namespace}:h`, 'f', 'v')
    const cache = createCache({ namespace, l1: false, l2: store })
    expect(await cache.getOrLoad('h', () => 'loaded anyway')).toBe('loaded anyway')
    expect(cache.stats().l2Errors).toBeGreaterThanOrEqual(1)
    await cache.clear()
    await cache.close()
  })
})
