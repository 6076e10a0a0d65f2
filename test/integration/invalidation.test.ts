/**
 * Cross-instance invalidation: several caches on one namespace, each with its own L1 and its
 * own connection to the same Redis (as separate processes would have), on every transport.
 */
import { describe, expect, it } from 'vitest'
import { createCache, type CacheEvent, type CacheOptions, type TierCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { memoryStore } from '../../adapters/memory.js'
import { upstash } from '../../adapters/upstash.js'
import type { L2Store } from '../../src/index.js'
import { useBridge } from '../support/bridge.js'
import { counting, readUntil, sleep, testRedis, trackCaches, uniqueName } from '../support/helpers.js'

const track = trackCaches()
const bridge = useBridge()

interface Setup {
  name: string
  transport: 'pubsub' | 'stream'
  /** A store handle per instance: its own connection where the store has one. */
  store(): () => L2Store
  /** The staleness bound to wait for before asserting. */
  bound: number
}

const POLL = 80
const setups: Setup[] = [
  { name: 'pubsub over TCP', transport: 'pubsub', store: () => () => testRedis(), bound: 700 },
  { name: 'stream polling over TCP', transport: 'stream', store: () => () => testRedis(), bound: POLL + 700 },
  { name: 'stream polling over HTTP (bridge)', transport: 'stream', store: () => () => upstash({ url: bridge().url, token: bridge().token }), bound: POLL + 700 },
  {
    name: 'pubsub in-process (memoryStore)',
    transport: 'pubsub',
    store: () => {
      const shared = memoryStore()
      return () => shared
    },
    bound: 50,
  },
]

async function instances(setup: Setup, count: number, extra: Partial<CacheOptions> = {}): Promise<{ caches: TierCache[]; events: CacheEvent[][] }> {
  const namespace = uniqueName('inv')
  const store = setup.store()
  const events: CacheEvent[][] = []
  const caches = Array.from({ length: count }, (_, i) => {
    const seen: CacheEvent[] = []
    events.push(seen)
    return track(createCache({
      namespace,
      l1: lru(),
      l2: store(),
      ttl: '1h',
      invalidation: { transport: setup.transport, pollInterval: POLL },
      onEvent: (e) => seen.push(e),
      ...extra,
      ...(i > 0 && extra.l2 !== undefined ? {} : {}),
    }))
  })
  await Promise.all(caches.map((cache) => cache.ready()))
  // stream readers take their cursor on their first poll: one read each before the test's writes
  await Promise.all(caches.map((cache) => cache.get('__warm__', { disableLoad: true })))
  return { caches, events }
}

describe.each(setups)('invalidation: $name', (setup) => {
  it('every kind of write on A reaches the L1 of B and C within the bound', async () => {
    const { caches } = await instances(setup, 3)
    const [a, b, c] = caches as [TierCache, TierCache, TierCache]
    const readers = [b, c]

    // set
    await a.set('k', 'v1')
    for (const r of readers) expect(await r.get('k')).toBe('v1') // now in their L1
    await a.set('k', 'v2')
    for (const r of readers) expect(await readUntil(r, 'k', 'v2', setup.bound)).toBe('v2')

    // mset
    await a.mset([['m1', 1], ['m2', 2]])
    for (const r of readers) expect([...(await r.mget(['m1', 'm2'])).values()]).toEqual([1, 2])
    await a.mset([['m1', 10], ['m2', 20]])
    for (const r of readers) {
      expect(await readUntil(r, 'm1', 10, setup.bound)).toBe(10)
      expect(await readUntil(r, 'm2', 20, setup.bound)).toBe(20)
    }

    // delete and mdelete
    await a.delete('k')
    for (const r of readers) expect(await readUntil(r, 'k', undefined, setup.bound)).toBeUndefined()
    await a.mdelete(['m1', 'm2'])
    for (const r of readers) {
      expect(await readUntil(r, 'm1', undefined, setup.bound)).toBeUndefined()
      expect(await readUntil(r, 'm2', undefined, setup.bound)).toBeUndefined()
    }

    // deleteByTag
    await a.set('t1', 'tagged', { tags: ['red'] })
    await a.set('t2', 'also', { tags: ['red', 'blue'] })
    await a.set('t3', 'blue only', { tags: ['blue'] })
    for (const r of readers) expect([...(await r.mget(['t1', 't2', 't3'])).values()]).toEqual(['tagged', 'also', 'blue only'])
    expect(await a.deleteByTag('red')).toBe(2)
    for (const r of readers) {
      expect(await readUntil(r, 't1', undefined, setup.bound)).toBeUndefined()
      expect(await readUntil(r, 't2', undefined, setup.bound)).toBeUndefined()
      expect(await r.get('t3')).toBe('blue only')
    }

    // clear
    await a.set('z', 'zz')
    for (const r of readers) expect(await r.get('z')).toBe('zz')
    await a.clear()
    for (const r of readers) {
      expect(await readUntil(r, 'z', undefined, setup.bound)).toBeUndefined()
      expect(await r.get('t3')).toBeUndefined()
    }

    const stats = b.stats().invalidation
    expect(stats.transport).toBe(setup.transport)
    expect(stats.received).toBeGreaterThanOrEqual(7)
    expect(stats.applied).toBe(stats.received)
    expect(a.stats().invalidation.published).toBeGreaterThanOrEqual(7)
    expect(a.stats().invalidation.received).toBe(0) // its own messages are not received
  })

  it('receivers only drop entries from L1: they never write to Redis', async () => {
    const namespace = uniqueName('inv')
    const store = setup.store()
    const writer = track(createCache({ namespace, l1: lru(), l2: store(), invalidation: { transport: setup.transport, pollInterval: POLL } }))
    const { store: watched, counts } = counting(store())
    const reader = track(createCache({ namespace, l1: lru(), l2: watched, invalidation: false }))
    // the counted reader has no sync of its own; a second reader does the receiving
    const receiver = track(createCache({ namespace, l1: lru(), l2: store(), invalidation: { transport: setup.transport, pollInterval: POLL } }))
    await Promise.all([writer.ready(), receiver.ready()])
    await receiver.get('warm', { disableLoad: true })
    await reader.get('k', { disableLoad: true })
    const writesBefore = counts.set + counts.mset + counts.delete + counts.clear
    await writer.set('k', 1)
    await writer.delete('k')
    expect(await readUntil(receiver, 'k', undefined, setup.bound)).toBeUndefined()
    expect(counts.set + counts.mset + counts.delete + counts.clear).toBe(writesBefore)
    expect(receiver.stats().sets + receiver.stats().deletes).toBe(0)
  })

  it('clear() clears one namespace only, across instances', async () => {
    const { caches } = await instances(setup, 2)
    const [a, b] = caches as [TierCache, TierCache]
    const neighbour = track(createCache({ namespace: `${a.namespace}-n`, l1: lru(), l2: setup.store()(), invalidation: { transport: setup.transport, pollInterval: POLL } }))
    await neighbour.set('k', 'keep')
    await b.set('k', 'go')
    await a.clear()
    expect(await readUntil(b, 'k', undefined, setup.bound)).toBeUndefined()
    expect(await neighbour.get('k')).toBe('keep')
  })
})

describe('invalidation options', () => {
  it('pubsub needs a store that holds a connection; auto picks stream over HTTP and pubsub over TCP', async () => {
    expect(() => createCache({ namespace: 'x', l2: upstash({ url: bridge().url, token: bridge().token }), invalidation: { transport: 'pubsub' } }))
      .toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'invalidation.transport' }))
    const http = track(createCache({ namespace: uniqueName(), l2: upstash({ url: bridge().url, token: bridge().token }) }))
    expect(http.stats().invalidation.transport).toBe('stream')
    const tcp = track(createCache({ namespace: uniqueName(), l2: testRedis() }))
    await tcp.ready()
    expect(tcp.stats().invalidation).toMatchObject({ transport: 'pubsub', listening: true })
    const off = track(createCache({ namespace: uniqueName(), l2: testRedis(), invalidation: false }))
    expect(off.stats().invalidation.transport).toBe('off')
    expect(() => createCache({ namespace: 'x', invalidation: { transport: 'carrier-pigeon' as never } })).toThrow(expect.objectContaining({ option: 'invalidation.transport' }))
    expect(() => createCache({ namespace: 'x', l2: false, invalidation: { transport: 'stream' } })).toThrow(expect.objectContaining({ option: 'invalidation.transport' }))
  })

  it('tags need stores with sets: a clear error otherwise', async () => {
    const plain: L2Store = { kind: 'l2', name: 'plain', get: async () => null, set: async () => undefined, delete: async () => undefined, clear: async () => 0 }
    const cache = track(createCache({ namespace: uniqueName(), l2: plain }))
    await expect(cache.set('k', 1, { tags: ['t'] })).rejects.toMatchObject({ code: 'E_UNSUPPORTED' })
    await expect(cache.deleteByTag('t')).rejects.toMatchObject({ code: 'E_UNSUPPORTED' })
    await cache.set('k', 1) // untagged writes are fine
  })

  it('local-only caches support tags too', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: false }))
    await cache.set('a', 1, { tags: ['x'] })
    await cache.set('b', 2, { tags: ['y'] })
    expect(await cache.deleteByTag('x')).toBe(1)
    expect(await cache.get('a')).toBeUndefined()
    expect(await cache.get('b')).toBe(2)
  })

  it('getOrLoad results carry tags; deleteByTag reaches entries promoted from L2', async () => {
    const namespace = uniqueName()
    const store = memoryStore()
    const a = track(createCache({ namespace, l2: store }))
    const b = track(createCache({ namespace, l2: store }))
    await a.getOrLoad('p', async () => 'product', { tags: ['catalog'] })
    expect(await b.get('p')).toBe('product') // promoted into b's L1 with its tags
    await a.deleteByTag('catalog')
    expect(await readUntil(b, 'p', undefined, 100)).toBeUndefined()
  })
})

describe('stream polling cost', () => {
  it('a poll slower than pollInterval makes a request poll once, not again and again', async () => {
    const inner = memoryStore()
    let reads = 0
    const slow: L2Store = {
      ...inner,
      kind: 'l2',
      name: 'slow-bus',
      get: (key) => inner.get(key),
      set: (key, value, ttl) => inner.set(key, value, ttl),
      mget: (keys) => inner.mget!(keys),
      mset: (writes) => inner.mset!(writes),
      delete: (keys) => inner.delete(keys),
      clear: (prefix) => inner.clear(prefix),
      bus: (stream, channel, maxLen) => {
        const bus = inner.bus!(stream, channel, maxLen)
        return {
          publish: (message) => bus.publish(message),
          head: () => bus.head(),
          read: async (cursor, count) => {
            reads++
            await sleep(30) // slower than the 1 ms pollInterval below
            return bus.read(cursor, count)
          },
        }
      },
    }
    const cache = track(createCache({ namespace: uniqueName(), l2: slow, invalidation: { transport: 'stream', pollInterval: 1 } }))
    await cache.set('k', 1)
    await cache.get('k') // takes the cursor (head), then polls as due
    const before = reads
    expect(await cache.get('k')).toBe(1)
    expect(reads - before).toBeLessThanOrEqual(1)
  })
})

describe('closing a listening cache', () => {
  it('does not wait out the catch-up that follows a fresh Pub/Sub subscription', async () => {
    const cache = createCache({ namespace: uniqueName(), l1: lru(), l2: testRedis(), invalidation: { transport: 'pubsub' } })
    await cache.ready()
    expect(cache.diagnostics().invalidation.listening).toBe(true)
    const started = performance.now()
    await cache.close()
    // the second catch-up is due 250 ms after subscribing; close() cancels it instead of waiting
    expect(performance.now() - started).toBeLessThan(200)
  })
})
