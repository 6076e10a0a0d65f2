/**
 * Cross-instance invalidation on a three-master Redis Cluster: two caches, each with its own
 * cluster client, on Pub/Sub and on stream polling. A write on one drops the key from the
 * other's L1 within the bound; a killed Pub/Sub connection is re-established and caught up.
 */
import { describe, expect, it } from 'vitest'
import { createCache, type TierCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { redis } from '../../adapters/redis.js'
import { readUntil, sleep, trackCaches, uniqueName } from '../support/helpers.js'
import { redisCli, useRedisCluster } from '../support/redis-cluster.js'

const cluster = useRedisCluster()

const track = trackCaches()
const POLL = 80
const setups = [
  { transport: 'pubsub' as const, bound: 700 },
  { transport: 'stream' as const, bound: POLL + 700 },
]

async function pair(transport: 'pubsub' | 'stream'): Promise<[TierCache, TierCache]> {
  const namespace = uniqueName('cinv')
  const make = (): TierCache =>
    track(createCache({ namespace, l1: lru(), l2: redis({ cluster: { rootNodes: cluster().rootNodes } }), ttl: '1h', invalidation: { transport, pollInterval: POLL } }))
  const caches: [TierCache, TierCache] = [make(), make()]
  await Promise.all(caches.map((cache) => cache.ready()))
  // a stream reader takes its cursor on its first poll
  await Promise.all(caches.map((cache) => cache.get('__warm__', { disableLoad: true })))
  return caches
}


describe.each(setups)('redis cluster invalidation: $transport', ({ transport, bound }) => {
  it('a write on A drops the key from the L1 of B within the bound, for every kind of write', async () => {
    const [a, b] = await pair(transport)
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`) // spread over the masters

    await a.mset(keys.map((key) => [key, 1] as const))
    expect([...(await b.mget(keys)).values()]).toEqual(keys.map(() => 1)) // now in B's L1
    await a.set('k3', 2)
    expect(await readUntil(b, 'k3', 2, bound)).toBe(2)
    await a.mset(keys.map((key) => [key, 3] as const))
    for (const key of keys) expect(await readUntil(b, key, 3, bound)).toBe(3)

    await a.mdelete(keys.slice(0, 6))
    for (const key of keys.slice(0, 6)) expect(await readUntil(b, key, undefined, bound)).toBeUndefined()
    expect(await b.get('k7')).toBe(3)

    await a.mset([['t1', 't'], ['t2', 't']], { tags: ['red'] })
    expect([...(await b.mget(['t1', 't2'])).values()]).toEqual(['t', 't'])
    expect(await a.deleteByTag('red')).toBe(2)
    expect(await readUntil(b, 't1', undefined, bound)).toBeUndefined()
    expect(await readUntil(b, 't2', undefined, bound)).toBeUndefined()

    await a.clear()
    for (const key of keys.slice(6)) expect(await readUntil(b, key, undefined, bound)).toBeUndefined()

    const stats = b.stats().invalidation
    expect(stats.transport).toBe(transport)
    expect(stats.received).toBeGreaterThanOrEqual(6)
    expect(stats.applied).toBe(stats.received)
    expect(a.stats().invalidation.published).toBeGreaterThanOrEqual(6)
  })
})

describe('redis cluster invalidation: a lost Pub/Sub connection', () => {
  it('is reported, re-established and caught up: no invalidation is lost', async () => {
    const [a, b] = await pair('pubsub')
    expect(b.stats().invalidation.listening).toBe(true)
    const subscriptions = b.stats().invalidation.subscriptions

    await a.set('k', 1)
    expect(await b.get('k')).toBe(1)
    // kill every Pub/Sub connection, wherever node-redis put it
    for (const node of cluster().nodes) await redisCli(node.port, 'CLIENT', 'KILL', 'TYPE', 'pubsub')
    // written while B's subscription is down: the catch-up from the stream must deliver it
    await a.set('k', 2)

    const deadline = Date.now() + 5000
    while (b.stats().invalidation.subscriptions === subscriptions && Date.now() < deadline) await sleep(20)
    expect(b.stats().invalidation.subscriptions).toBeGreaterThan(subscriptions)
    expect(await readUntil(b, 'k', 2, 2000)).toBe(2)

    // and the new subscription delivers
    await a.set('k', 3)
    expect(await readUntil(b, 'k', 3, 700)).toBe(3)
    expect(b.stats().invalidation.flushes).toBe(0)
  })
})
