import { describe, expect, it } from 'vitest'
import { createClient } from 'redis'
import { inject } from 'vitest'
import { createCache, errors, type CacheEvent } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { redis } from '../../adapters/redis.js'
import { freePort } from '../support/redis-server.js'
import { uniqueName } from '../support/helpers.js'
import { createCacheWith, type L1Store, type L2Store } from '../../src/index.js'
import { memoryStore } from '../../adapters/memory.js'

describe('close', () => {
  it('refuses every call afterwards with E_CLOSED, and is safe to call twice', async () => {
    const cache = createCache({ namespace: uniqueName() })
    await cache.set('k', 1)
    await cache.close()
    await cache.close()
    for (const call of [() => cache.get('k'), () => cache.set('k', 1), () => cache.mget(['k']), () => cache.clear(), () => cache.getOrLoad('k', () => 1)]) {
      const err = await call().then(() => 'resolved', (e: unknown) => e)
      expect(err).toBeInstanceOf(errors.ClosedError)
      expect(err).toMatchObject({ code: 'E_CLOSED' })
    }
  })

  it('closes a client redis() opened, never one the caller passed in', async () => {
    const client = createClient({ url: inject('redisUrl') })
    await client.connect()
    const cache = createCache({ namespace: uniqueName(), l2: redis({ client }) })
    await cache.set('k', 1)
    await cache.clear()
    await cache.close()
    expect(client.isReady).toBe(true)
    await client.close()

    const store = redis({ url: inject('redisUrl') })
    const owned = createCache({ namespace: uniqueName(), l2: store })
    await owned.set('k', 1)
    const c = await store.client()
    await owned.clear()
    await owned.close()
    expect(c.isOpen).toBe(false)
  })

  it('frees its lru() for another cache', async () => {
    const l1 = lru()
    await createCache({ namespace: 'a', l1 }).close()
    expect(() => createCache({ namespace: 'b', l1 })).not.toThrow()
  })
})

describe('Redis unreachable', () => {
  it('reads fall back to L1 and the loader, writes are counted and reported, nothing hangs', async () => {
    const port = await freePort() // nothing listens there
    const events: CacheEvent[] = []
    const cache = createCache({
      namespace: uniqueName(),
      l1: lru(),
      l2: redis({ url: `redis://127.0.0.1:${port}`, connectTimeout: 500 }),
      onEvent: (e) => events.push(e),
    })
    expect(await cache.getOrLoad('k', () => 'from loader')).toBe('from loader')
    expect(await cache.get('k')).toBe('from loader') // L1 kept it
    expect(await cache.get('other')).toBeUndefined()
    await expect(cache.set('x', 1)).resolves.toBeUndefined()
    expect(await cache.get('x')).toBe(1)
    await expect(cache.delete('x')).resolves.toBeUndefined()
    const s = cache.stats()
    expect(s.l2Errors).toBeGreaterThanOrEqual(4)
    expect(s.l2WriteErrors).toBeGreaterThanOrEqual(3)
    const l2Events = events.filter((e) => e.type === 'l2:error')
    expect(l2Events.length).toBe(s.l2Errors)
    expect(l2Events[0]).toMatchObject({ tier: 'l2', error: { code: 'E_L2', store: 'redis' } })
    await cache.close()
  })

  it('an onEvent listener that throws does not break the cache', async () => {
    const port = await freePort()
    const cache = createCache({
      namespace: uniqueName(),
      l2: redis({ url: `redis://127.0.0.1:${port}`, connectTimeout: 300 }),
      onEvent: () => {
        throw new Error('listener bug')
      },
    })
    expect(await cache.getOrLoad('k', () => 'ok')).toBe('ok')
    await cache.close()
  })
})

describe('a shared tier that never answers', () => {
  /** Every call hangs for ever, as on a stalled connection. */
  const silent = (): L2Store => {
    const never = (): Promise<never> => new Promise<never>(() => undefined)
    return { kind: 'l2', name: 'silent', get: never, mget: never, set: never, mset: never, delete: never, clear: never }
  }

  // the runtime entries keep one timer for all of a cache's limits; createCacheWith (and Workers) one per call
  it.each([
    ['one timer per cache (runtime entry)', () => createCache({ namespace: uniqueName(), l1: lru(), l2: silent(), l2Timeout: 80 })],
    ['a timer per call (createCacheWith)', () => createCacheWith({ namespace: uniqueName(), l1: lru(), l2: silent(), l2Timeout: 80 })],
  ])('%s: every call is answered after l2Timeout, each limit counted once', async (_, make) => {
    const cache = make()
    const started = performance.now()
    const answers = await Promise.all([
      cache.get('a'),
      cache.getOrLoad('b', () => 'loaded'),
      cache.mget(['c', 'd']),
      cache.set('e', 1),
    ])
    const elapsed = performance.now() - started
    expect(answers[0]).toBeUndefined()
    expect(answers[1]).toBe('loaded')
    expect([...answers[2].values()]).toEqual([undefined, undefined])
    expect(elapsed).toBeGreaterThanOrEqual(75)
    expect(elapsed).toBeLessThan(1000)
    // a (with b, coalesced into one MGET), the batch c+d, the write-back of b, and e
    expect(cache.stats().l2Timeouts).toBe(4)
    await cache.close()
  })
})

describe('an L1 store of ones own that throws on a write', () => {
  it('fails the write that reached it, on every write path, and leaves nothing unhandled', async () => {
    const broken: L1Store = {
      kind: 'l1',
      name: 'broken',
      maxTtl: 0,
      get: () => undefined,
      set: () => {
        throw new Error('l1 full')
      },
      delete: () => undefined,
      clear: () => undefined,
      size: 0,
    }
    const cache = createCache({ namespace: uniqueName(), l1: broken, l2: memoryStore() })
    await expect(cache.set('k', 1)).rejects.toThrow('l1 full') // the one-entry write
    await expect(cache.getOrLoad('j', () => 2)).rejects.toThrow('l1 full') // a load's write-back
    await expect(cache.mset([['a', 1], ['b', 2]])).rejects.toThrow('l1 full') // the batch write
    await cache.close()
  })
})
