/**
 * Batches on a three-master Redis Cluster: keys of one call spread over many hash slots and every
 * master; each key lands on the node that owns its slot; clear() reaches every master.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCluster } from 'redis'
import { createCache } from '../../runtimes/default.js'
import { redis, type AnyRedisClient, type AnyRedisCluster, type RedisClusterStore } from '../../adapters/redis.js'
import { keySlot } from '../../adapters/redis-slot.js'
import { counting, sleep, uniqueName } from '../support/helpers.js'
import { startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster.js'

let cluster: RedisClusterHandle
let store: RedisClusterStore
let client: AnyRedisCluster

beforeAll(async () => {
  cluster = await startRedisCluster()
  store = redis({ cluster: { rootNodes: cluster.rootNodes } })
  client = await store.client()
}, 60_000)
afterAll(async () => {
  await store?.close?.()
  await cluster?.stop()
})

/** The connection to the master that owns `key`, to check where a key really is. */
async function nodeOf(key: string): Promise<{ address: string; node: AnyRedisClient }> {
  const master = client.slots[keySlot(key)]!.master
  return { address: master.address, node: (await client.nodeClient(master)) as AnyRedisClient }
}

/** Keys under `prefix` held by each master, counted with SCAN on that master's own connection. */
async function keysPerMaster(prefix: string): Promise<number[]> {
  return Promise.all(
    client.masters.map(async (master) => {
      const node = (await client.nodeClient(master)) as AnyRedisClient
      let n = 0
      for await (const batch of node.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) n += (batch as string[]).length
      return n
    }),
  )
}

describe('redis cluster: batches', () => {
  it('keySlot agrees with CLUSTER KEYSLOT (ascii, unicode, hash tags, empty tags)', async () => {
    const node = (await client.nodeClient(client.masters[0]!)) as AnyRedisClient
    const keys = [
      ...Array.from({ length: 200 }, (_, i) => `tiercache:ns:key-${i}`),
      'ünïcødé', '日本語のキー', '𝄞 clef', 'lone \ud800 surrogate', '',
      '{user42}:a', 'x{user42}y', '{}', '{}{user42}', 'a{}b{c}', '{a', 'a}', '}{a}', '{a}{b}', 'k{ü}',
    ]
    for (const key of keys) expect([key, keySlot(key)]).toEqual([key, Number(await node.sendCommand(['CLUSTER', 'KEYSLOT', key]))])
  })

  it('one mset, mget and delete call each handle keys on every master, in key order', async () => {
    const prefix = `${uniqueName('b')}:`
    const keys = Array.from({ length: 60 }, (_, i) => `${prefix}${i}`)
    const owners = new Set((await Promise.all(keys.map(nodeOf))).map((o) => o.address))
    expect(owners.size).toBe(3)
    expect(new Set(keys.map(keySlot)).size).toBeGreaterThan(50)

    await store.mset!(keys.map((key, i) => ({ key, value: `v${i}`, ttl: 30_000, tagKeys: [`${prefix}|tag:all`] })))
    // each key is on the master that owns its slot
    for (const [i, key] of keys.entries()) expect(await (await nodeOf(key)).node.get(key)).toBe(`v${i}`)

    const asked = [keys[5]!, `${prefix}absent`, keys[40]!, keys[5]!, keys[0]!, `${prefix}absent-2`, ...keys.slice(10, 30)]
    expect(await store.mget!(asked)).toEqual([`v5`, null, `v40`, `v5`, `v0`, null, ...keys.slice(10, 30).map((_, i) => `v${i + 10}`)])

    await store.delete([...keys.slice(0, 30), `${prefix}absent`])
    expect(await store.mget!(keys)).toEqual(keys.map((_, i) => (i < 30 ? null : `v${i}`)))
    // the tag set lives in one slot, its members in many
    expect(await store.deleteTag!(`${prefix}|tag:all`)).toBe(30)
    expect(await store.mget!(keys)).toEqual(keys.map(() => null))
  })

  it("a cache's mset, mget, mdelete and deleteByTag over many slots: one store call per batch", async () => {
    const { store: counted, counts } = counting(redis({ cluster: { rootNodes: cluster.rootNodes } }))
    const cache = createCache({ namespace: uniqueName('bc'), l1: false, l2: counted, invalidation: false })
    try {
      const keys = Array.from({ length: 40 }, (_, i) => `k${i}`)
      await cache.mset(keys.map((key, i) => [key, { i }] as const))
      expect(counts.mset).toBe(1)
      const got = await cache.mget(keys)
      expect(counts.mget).toBe(1)
      expect([...got.values()]).toEqual(keys.map((_, i) => ({ i })))
      await cache.mdelete(keys.slice(0, 20))
      expect(counts.delete).toBe(1)
      expect([...(await cache.mget(keys)).values()]).toEqual(keys.map((_, i) => (i < 20 ? undefined : { i })))
      await cache.clear()
      expect([...(await cache.mget(keys)).values()]).toEqual(keys.map(() => undefined))
    } finally {
      await cache.close()
    }

    const tagged = createCache({ namespace: uniqueName('bt'), l1: false, l2: redis({ cluster: { rootNodes: cluster.rootNodes } }), invalidation: false })
    try {
      await tagged.mset(Array.from({ length: 30 }, (_, i) => [`t${i}`, i] as const), { tags: ['red'] })
      await tagged.set('blue', 'b', { tags: ['blue'] })
      expect(await tagged.deleteByTag('red')).toBe(30)
      expect([...(await tagged.mget(['t0', 't17', 't29', 'blue'])).values()]).toEqual([undefined, undefined, undefined, 'b'])
    } finally {
      await tagged.clear()
      await tagged.close()
    }
  })

  it('clear() removes the prefix on every master, and nothing else', async () => {
    const prefix = `${uniqueName('c')}:`
    const other = `${uniqueName('o')}:`
    await store.mset!(Array.from({ length: 300 }, (_, i) => ({ key: `${prefix}${i}`, value: 'x', ttl: 30_000 })))
    await store.mset!(Array.from({ length: 30 }, (_, i) => ({ key: `${other}${i}`, value: 'y', ttl: 30_000 })))
    const before = await keysPerMaster(prefix)
    expect(before).toHaveLength(3)
    for (const n of before) expect(n).toBeGreaterThan(0)
    expect(before.reduce((a, b) => a + b, 0)).toBe(300)

    expect(await store.clear(prefix)).toBe(300)
    expect(await keysPerMaster(prefix)).toEqual([0, 0, 0])
    expect((await keysPerMaster(other)).reduce((a, b) => a + b, 0)).toBe(30)
    expect(await store.clear(other)).toBe(30)
  })

  it('locks and streams route by key, a blocking read included', async () => {
    const prefix = `${uniqueName('s')}:`
    expect(await store.lock!(`${prefix}lock`, 'a', 5000)).toBe(true)
    expect(await store.lock!(`${prefix}lock`, 'b', 5000)).toBe(false)
    await store.unlock!(`${prefix}lock`, 'b') // not the holder: kept
    expect(await store.get(`${prefix}lock`)).toBe('a')
    await store.unlock!(`${prefix}lock`, 'a')
    expect(await store.get(`${prefix}lock`)).toBeNull()

    // two streams on two different masters
    const streams = Array.from({ length: 20 }, (_, i) => `${prefix}stream-${i}`)
    const owners = await Promise.all(streams.map(nodeOf))
    const first = streams[0]!
    const second = streams[owners.findIndex((o) => o.address !== owners[0]!.address)]!
    for (const key of [first, second]) {
      const id1 = await store.streams!.add(key, { n: '1' }, 100)
      const id2 = await store.streams!.add(key, { n: '2' }, 100)
      expect(await store.streams!.latest(key, 10)).toEqual([{ id: id2, fields: { n: '2' } }, { id: id1, fields: { n: '1' } }])
      expect(await store.streams!.read(key, { after: id1, count: 10 })).toEqual([{ id: id2, fields: { n: '2' } }])
      const blocked = store.streams!.read(key, { after: id2, count: 10, block: 3000 })
      await sleep(100)
      const id3 = await store.streams!.add(key, { n: '3' }, 100)
      const started = Date.now()
      expect(await blocked).toEqual([{ id: id3, fields: { n: '3' } }])
      expect(Date.now() - started).toBeLessThan(1000)
    }
    expect(await store.streams!.read(first, { after: '$', count: 10, block: 100 })).toEqual([])
    await store.delete([`${prefix}lock`, ...streams])
  })

  it('takes a cluster client you manage, and leaves it open on close()', async () => {
    const own = createCluster({ rootNodes: cluster.rootNodes }) as unknown as AnyRedisCluster
    own.on('error', () => undefined)
    const managed = redis({ cluster: own })
    const key = `${uniqueName('m')}:k`
    await managed.set(key, 'v', 10_000)
    expect(await managed.mget!([key, `${key}2`])).toEqual(['v', null])
    expect(await managed.client()).toBe(own)
    await managed.close!()
    expect(own.isReady).toBe(true)
    expect(await own.get(key)).toBe('v')
    await own.del(key)
    await own.close()
  })

  it('refuses bad options when the store is created', () => {
    const invalid = expect.objectContaining({ code: 'E_INVALID_OPTION' })
    expect(() => redis({ cluster: { rootNodes: [] } })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'redis.cluster.rootNodes' }))
    expect(() => redis({ url: 'redis://x', cluster: { rootNodes: [{ url: 'redis://x' }] } } as never)).toThrow(invalid)
    expect(() => redis({ cluster: { rootNodes: [{ url: 'http://user:secret@x' }] } })).toThrow(
      expect.objectContaining({ option: 'redis.cluster.rootNodes[0].url', message: expect.not.stringContaining('secret') }),
    )
    expect(() => redis({ cluster: { rootNodes: [{ url: 'redis://x' }], keyPrefix: 'p:' } })).toThrow(
      expect.objectContaining({ option: 'redis.cluster.keyPrefix' }),
    )
  })

  it('fails fast while no node answers', async () => {
    const down = redis({ cluster: { rootNodes: [{ url: 'redis://127.0.0.1:1' }] }, connectTimeout: 500 })
    const started = Date.now()
    await expect(down.get('k')).rejects.toThrow(/not connected/)
    await expect(down.get('k')).rejects.toThrow(/not connected/) // within the fail-fast second
    expect(Date.now() - started).toBeLessThan(1500)
    await down.close!()
  })
})
