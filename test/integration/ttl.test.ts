import { describe, expect, it } from 'vitest'
import { createCache, Strategy } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { memoryStore } from '../../adapters/memory.js'
import { fakeClock, testRedis, uniqueName } from '../support/helpers.js'

describe('ttl', () => {
  it('expires entries in L1 and L2 after the ttl (default 5 minutes)', async () => {
    const clock = fakeClock()
    const cache = createCache({ namespace: 'ttl', l1: lru(), l2: memoryStore({ clock }), clock, jitter: 0 })
    await cache.set('k', 'v')
    clock.advance(Strategy.ShortTerm - 1)
    expect(await cache.get('k')).toBe('v')
    clock.advance(2)
    expect(await cache.get('k')).toBeUndefined()
  })

  it('takes a per-call ttl, a duration string or a Strategy preset', async () => {
    const clock = fakeClock()
    const cache = createCache({ namespace: 'ttl2', l1: lru(), l2: memoryStore({ clock }), clock, jitter: 0, ttl: Strategy.LongTerm })
    await cache.set('rt', 1, { ttl: Strategy.RealTime })
    await cache.set('s', 1, { ttl: '250ms' })
    await cache.getOrLoad('loaded', () => 1, { ttl: 1000 })
    await cache.set('long', 1)
    clock.advance(251)
    expect(await cache.get('s')).toBeUndefined()
    expect(await cache.get('loaded')).toBe(1)
    clock.advance(750)
    expect(await cache.get('loaded')).toBeUndefined()
    expect(await cache.get('rt')).toBe(1)
    clock.advance(9000)
    expect(await cache.get('rt')).toBeUndefined()
    clock.advance(Strategy.LongTerm - 10_002)
    expect(await cache.get('long')).toBe(1)
  })

  it('lets a loader set its entry\'s ttl and tags once it knows them (ctx.setTtl, ctx.setTags)', async () => {
    const clock = fakeClock()
    const cache = createCache({ namespace: 'ttl-ctx', l1: lru(), l2: memoryStore({ clock }), clock, jitter: 0, ttl: '1h' })
    const seen: string[] = []
    await cache.getOrLoad('a', (key, ctx) => {
      seen.push(ctx.key, key)
      ctx.setTtl('2s')
      ctx.setTags(['t'])
      return 'A'
    }, { ttl: '1h', tags: ['ignored'] })
    await cache.getOrLoad('gone', (_key, ctx) => {
      ctx.setTtl(500) // wins over nullTtl for a null result too
      return null
    })
    expect(seen).toEqual(['a', 'a'])
    expect(await cache.deleteByTag('ignored')).toBe(0)
    clock.advance(501)
    expect(await cache.get('gone')).toBeUndefined()
    clock.advance(1_500)
    expect(await cache.get('a')).toBeUndefined()
    await cache.getOrLoad('b', (_key, ctx) => (ctx.setTags(['t']), 'B'))
    expect(await cache.deleteByTag('t')).toBe(1)
    expect(await cache.get('b')).toBeUndefined()
    for (const bad of [0, -1, 'soon', undefined]) {
      const error = await cache.getOrLoad(`bad-ttl-${String(bad)}`, (_key, ctx) => (ctx.setTtl(bad as never), 1)).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'E_INVALID_OPTION', option: 'setTtl' })
    }
    const error = await cache.getOrLoad('bad-tags', (_key, ctx) => (ctx.setTags([''] as never), 1)).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'E_INVALID_OPTION', option: 'setTags' })
    expect(await cache.get('bad-tags')).toBeUndefined()
    await cache.close()
  })

  it('spreads expiries by ±jitter in Redis (default 10%)', async () => {
    const store = testRedis()
    const client = await store.client()
    const namespace = uniqueName()
    const cache = createCache({ namespace, l1: false, l2: store, ttl: '100s' })
    await cache.mset(Array.from({ length: 200 }, (_, i) => [`k${i}`, i] as const))
    const ttls = await Promise.all(Array.from({ length: 200 }, (_, i) => client.pTTL(`tiercache:${namespace}:k${i}`)))
    const min = Math.min(...ttls.map(Number))
    const max = Math.max(...ttls.map(Number))
    expect(min).toBeGreaterThanOrEqual(89_000)
    expect(max).toBeLessThanOrEqual(110_000)
    expect(max - min).toBeGreaterThan(5_000) // really spread, not one value
    const exact = createCache({ namespace: `${namespace}-0`, l1: false, l2: store, ttl: '100s', jitter: 0 })
    await exact.set('k', 1)
    expect(Number(await client.pTTL(`tiercache:${namespace}-0:k`))).toBeGreaterThan(99_000)
    await cache.clear()
    await exact.clear()
    await cache.close()
  })
})
