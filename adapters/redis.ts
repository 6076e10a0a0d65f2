/**
 * L2 over TCP with node-redis: SET with PX, MGET, one pipeline per mset, UNLINK, and
 * namespace clears with SCAN + UNLINK (never KEYS or FLUSHDB). On a Redis Cluster
 * (`{ cluster }`) batches are split by hash slot and clears scan every master.
 * @module
 */
import type { InvalidationBus, L2Store, L2Write, StreamOps } from '../src/contracts.js'
import { InvalidOptionError } from '../src/errors.js'
import {
  checkConnectionOptions,
  clusterConnection,
  connection,
  isClusterClient,
  redactUrl,
  type AnyRedisClient,
  type AnyRedisCluster,
  type AnyRedisClusterOptions,
} from './redis-connection.js'
import { escapeGlob } from './glob.js'
import { deleteTagWith, UNLOCK_SCRIPT, LATEST_SCRIPT, parseEntries, parseXread, splitPayload, streamBus, tagCommands, unlinkWith, type CommandRunner } from './redis-ops.js'
import { groupBySlot, keySlot, slotGroups } from './redis-slot.js'

export { escapeGlob }
export type { AnyRedisClient, AnyRedisCluster, AnyRedisClusterOptions }

/** Options of {@link redis}: exactly one of `url` (the store opens and owns a client), `client` or `cluster`. */
export interface RedisStoreOptions {
  /** A `redis://` or `rediss://` URL; the store connects lazily on first use and closes the client on `close()`. */
  url?: string
  /** A node-redis client you manage; connected on first use if it is not yet, and never closed by the store. */
  client?: AnyRedisClient
  /** Keys per SCAN step when clearing a namespace. @default 1000 */
  scanCount?: number
  /** How long a call waits for a connection before failing, in ms. @default 2000 */
  connectTimeout?: number
  /** Receives the client's connection errors (which otherwise only fail the commands they affect). */
  onError?: (error: unknown) => void
}

/** Options of {@link redis} on a Redis Cluster. */
export interface RedisClusterStoreOptions extends Omit<RedisStoreOptions, 'url' | 'client'> {
  /**
   * node-redis `createCluster` options, e.g. `{ rootNodes: [{ url }], defaults: { password } }`:
   * the store creates the cluster client, connects it lazily and closes it on `close()`
   * (`defaults` applies to every node connection; the store adds `disableOfflineQueue` and
   * `connectTimeout` to it). Or a cluster client you manage, connected on first use if it is not
   * yet and never closed by the store. node-redis' `keyPrefix` is refused: use the cache's `prefix`.
   */
  cluster: AnyRedisClusterOptions | AnyRedisCluster
  url?: undefined
  client?: undefined
}

/** The store returned by {@link redis}; `client()` exposes the connected node-redis client. */
export interface RedisStore extends L2Store {
  /** The connected client (connecting it first if needed). */
  client(): Promise<AnyRedisClient>
}

/** The store returned by {@link redis} with `{ cluster }`; `client()` exposes the connected cluster client. */
export interface RedisClusterStore extends L2Store {
  /** The connected cluster client (connecting it first if needed). */
  client(): Promise<AnyRedisCluster>
}

/**
 * Creates an L2 store over node-redis: one Redis (`url` or `client`) or a Redis Cluster
 * (`cluster`).
 *
 * A client the store opens itself is created with `disableOfflineQueue`, so commands fail
 * fast while Redis is unreachable instead of queueing: a call waits at most `connectTimeout`
 * for a connection, and fails at once for a second after a failed attempt (the cache then
 * falls back to L1 and the loader). node-redis keeps reconnecting in the background.
 *
 * On a cluster every operation works: `mget` and deletes send one MGET / UNLINK per hash slot,
 * concurrently, and answer in key order; `mset` sends its commands concurrently (node-redis
 * pipelines them per node); `clear` scans every master; scripts and stream reads go to the
 * node of their key; Pub/Sub runs on a cluster connection of its own. See docs/cluster.md.
 *
 * @param options.url `redis://` or `rediss://` URL of one Redis.
 * @param options.client a node-redis client you manage.
 * @param options.cluster node-redis `createCluster` options (`{ rootNodes: [{ url }], … }`) or a cluster client you manage.
 * @param options.scanCount keys per SCAN step in `clear`. @default 1000
 * @param options.connectTimeout ms a call waits for a connection (on a cluster: topology and masters). @default 2000
 * @param options.onError receives connection errors (on a cluster: every node's).
 * @example
 * ```ts
 * import { createCache } from 'tiercache'
 * import { redis } from 'tiercache/redis'
 * const cache = createCache({ namespace: 'user', l2: redis({ url: 'redis://127.0.0.1:6379' }) })
 * const clustered = createCache({
 *   namespace: 'user',
 *   l2: redis({ cluster: { rootNodes: [{ url: 'redis://10.0.0.1:7000' }, { url: 'redis://10.0.0.2:7000' }] } }),
 * })
 * ```
 */
export function redis(options: RedisClusterStoreOptions): RedisClusterStore
export function redis(options: RedisStoreOptions): RedisStore
export function redis(options: RedisStoreOptions | RedisClusterStoreOptions): RedisStore | RedisClusterStore {
  checkStoreOptions(options)
  return 'cluster' in options && options.cluster !== undefined ? clusterStore(options) : singleStore(options as RedisStoreOptions)
}

function checkStoreOptions(options: (RedisStoreOptions & { cluster?: unknown }) | null | undefined): void {
  const count = options !== null && typeof options === 'object' ? [options.url, options.client, options.cluster].filter((v) => v !== undefined).length : 0
  if (count !== 1) throw new InvalidOptionError('redis() needs exactly one of { url }, { client } or { cluster }', { option: 'redis' })
  if (options!.cluster === undefined) return checkConnectionOptions(options, 'redis')
  const cluster = options!.cluster
  if (isClusterClient(cluster)) return
  const given = cluster as Partial<AnyRedisClusterOptions> | null
  if (given === null || typeof given !== 'object' || !Array.isArray(given.rootNodes) || given.rootNodes.length === 0) {
    throw new InvalidOptionError('redis.cluster needs rootNodes: a non-empty array such as [{ url: "redis://10.0.0.1:7000" }]', { option: 'redis.cluster.rootNodes' })
  }
  for (const [i, node] of given.rootNodes.entries()) {
    const option = `redis.cluster.rootNodes[${i}]`
    if (node === null || typeof node !== 'object') throw new InvalidOptionError(`${option} must be an object such as { url }`, { option })
    const url: unknown = node.url
    if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
      const got = typeof url === 'string' ? JSON.stringify(redactUrl(url)) : typeof url
      throw new InvalidOptionError(`${option}.url must start with redis:// or rediss://; got ${got}`, { option: `${option}.url` })
    }
  }
  if (given.keyPrefix !== undefined) {
    throw new InvalidOptionError('redis.cluster.keyPrefix is not supported: keys are already prefixed by the cache (its prefix option)', { option: 'redis.cluster.keyPrefix' })
  }
}

const px = (ttl: number): number => Math.max(1, Math.ceil(ttl))

/** Raw streams over a runner; a blocking read holds a connection, so it gets one of its own (a duplicate of `connectionFor(key)`). */
function streamsWith(run: CommandRunner, connectionFor: (key: string) => Promise<AnyRedisClient>): StreamOps {
  return {
    async add(key, fields, maxLen) {
      return String(await run.command(['XADD', key, 'MAXLEN', '~', String(maxLen), '*', ...Object.entries(fields).flat()], key))
    },
    async latest(key, count) {
      return parseEntries(await run.script(LATEST_SCRIPT, [key], [String(count)]))
    },
    async read(key, { after, count, block }) {
      const args = ['XREAD', 'COUNT', String(count), ...(block !== undefined ? ['BLOCK', String(block)] : []), 'STREAMS', key, after]
      if (block === undefined) return parseXread(await run.command(args, key))
      const client = (await connectionFor(key)).duplicate() as AnyRedisClient
      client.on('error', () => undefined)
      try {
        await client.connect()
        return parseXread(await client.sendCommand(args))
      } finally {
        client.destroy()
      }
    },
  }
}

/**
 * Reports a Pub/Sub connection's life to the bus' subscriber: node-redis re-subscribes after a
 * reconnect before it emits 'ready'. Returns the function that stops reporting.
 */
function watchConnection(client: AnyRedisClient, onReady: () => void, onLost: () => void): () => void {
  client.on('ready', onReady)
  client.on('reconnecting', onLost)
  client.on('end', onLost)
  return () => {
    client.off('ready', onReady)
    client.off('reconnecting', onLost)
    client.off('end', onLost)
  }
}

/** SCAN for `pattern` on every client at once, UNLINKing each batch; resolves to how many keys were removed. */
async function scanAndUnlink(clients: readonly AnyRedisClient[], pattern: string, count: number, unlink: (keys: string[]) => Promise<number>): Promise<number> {
  const removed = await Promise.all(
    clients.map(async (client) => {
      let n = 0
      for await (const batch of client.scanIterator({ MATCH: pattern, COUNT: count })) {
        const keys = batch as string[]
        if (keys.length > 0) n += await unlink(keys)
      }
      return n
    }),
  )
  return removed.reduce((a, b) => a + b, 0)
}

/** Bounds a setup step: rejects after `ms`. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis: ${what} did not complete within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

function singleStore(options: RedisStoreOptions): RedisStore {
  const scanCount = options.scanCount ?? 1000
  const conn = connection(options)
  const connect = conn.get
  const subscribers = new Set<AnyRedisClient>()
  /** `use` on the client: at once when it is ready, else after the (fail-fast) connect wait. */
  const withClient = <T>(use: (c: AnyRedisClient) => Promise<T>): Promise<T> => {
    const ready = conn.current()
    if (ready === undefined) return connect().then(use)
    try {
      return use(ready)
    } catch (error) {
      return Promise.reject(error)
    }
  }
  const runner: CommandRunner = {
    command: (args) => withClient((c) => c.sendCommand(args)),
    script: (source, keys, args) => withClient((c) => c.sendCommand(['EVAL', source, String(keys.length), ...keys, ...args])),
  }

  return {
    kind: 'l2',
    name: 'redis',
    client: connect,
    describe: () => ({ endpoint: options.url !== undefined ? redactUrl(options.url) : 'your node-redis client' }),
    // the hot three go straight to a ready client: no promise between the call and the command
    get: (key) => withClient((c) => c.get(key) as Promise<string | null>),
    mget: (keys) => (keys.length === 0 ? Promise.resolve([]) : withClient((c) => c.mGet(keys as string[]) as Promise<(string | null)[]>)),
    // resolves to Redis' 'OK' rather than undefined: one promise less per write, and no caller reads it
    set: (key, value, ttl) => withClient((c) => c.set(key, value, { expiration: { type: 'PX', value: px(ttl) } }) as Promise<unknown> as Promise<void>),
    async mset(writes: readonly L2Write[]) {
      if (writes.length === 0) return
      const c = await connect()
      const pipeline = c.multi()
      for (const w of writes) {
        pipeline.set(w.key, w.value, { expiration: { type: 'PX', value: px(w.ttl) } })
        for (const args of tagCommands(w)) pipeline.addCommand(args)
      }
      const replies = (await pipeline.execAsPipeline()) as unknown[]
      const failed = replies.find((reply) => reply instanceof Error)
      if (failed !== undefined) throw failed
    },
    async delete(keys) {
      if (keys.length === 0) return
      const c = await connect()
      await c.unlink(keys as string[])
    },
    async clear(prefix) {
      const c = await connect()
      return scanAndUnlink([c], `${escapeGlob(prefix)}*`, scanCount, async (keys) => Number(await c.unlink(keys)))
    },
    deleteTag: (tagKey) => deleteTagWith(runner, tagKey),
    async lock(key, token, ttl) {
      const c = await connect()
      return (await c.set(key, token, { condition: 'NX', expiration: { type: 'PX', value: px(ttl) } })) === 'OK'
    },
    async unlock(key, token) {
      await runner.script(UNLOCK_SCRIPT, [key], [token])
    },
    streams: streamsWith(runner, () => connect()),
    bus(stream, channel, maxLen): InvalidationBus {
      return {
        ...streamBus(runner, stream, channel, maxLen),
        async subscribe(onMessage, onReady, onLost) {
          // Pub/Sub holds a connection of its own; node-redis re-subscribes after a reconnect
          // and emits 'ready', which is when the caller catches up from the stream.
          const client = (await connect()).duplicate() as AnyRedisClient
          client.on('error', (error: unknown) => options.onError?.(error))
          await client.connect()
          await client.subscribe(channel, (payload: string) => {
            const [id, message] = splitPayload(payload)
            onMessage(id, message)
          })
          const unwatch = watchConnection(client, onReady, onLost)
          subscribers.add(client)
          onReady()
          return async () => {
            subscribers.delete(client)
            unwatch()
            client.destroy()
          }
        },
      }
    },
    async close() {
      for (const client of subscribers) client.destroy()
      subscribers.clear()
      await conn.close()
    },
  }
}

function clusterStore(options: RedisClusterStoreOptions): RedisClusterStore {
  const scanCount = options.scanCount ?? 1000
  const connectTimeout = options.connectTimeout ?? 2000
  const conn = clusterConnection(options)
  const connect = conn.get
  const report = (error: unknown): void => options.onError?.(error)
  const subscribers = new Set<AnyRedisCluster>()
  // every command is routed by its key's slot; MOVED/ASK redirects are node-redis' business
  const send = async (key: string | undefined, args: string[], readOnly = false): Promise<unknown> => (await connect()).sendCommand(key, readOnly, args)
  const runner: CommandRunner = {
    command: (args, key) => send(key, args),
    script: (source, keys, args) => send(keys[0], ['EVAL', source, String(keys.length), ...keys, ...args]),
    group: groupBySlot,
  }
  /** The connection to the master that owns `key`'s slot (a blocking read duplicates it). */
  const masterOf = async (key: string): Promise<AnyRedisClient> => {
    const c = await connect()
    const shard = c.slots[keySlot(key)]
    if (shard === undefined) throw new Error(`redis: no cluster node serves the slot of ${JSON.stringify(key)}`)
    return (await c.nodeClient(shard.master)) as AnyRedisClient
  }

  return {
    kind: 'l2',
    name: 'redis-cluster',
    client: connect,
    async get(key) {
      return (await send(key, ['GET', key], true)) as string | null
    },
    async mget(keys) {
      if (keys.length === 0) return []
      const groups = slotGroups(keys)
      if (groups.length === 1) return (await send(keys[0], ['MGET', ...keys], true)) as (string | null)[]
      const values = new Array<string | null>(keys.length)
      await Promise.all(
        groups.map(async (group) => {
          const reply = (await send(keys[group[0]!], ['MGET', ...group.map((i) => keys[i]!)], true)) as (string | null)[]
          for (const [j, i] of group.entries()) values[i] = reply[j] ?? null
        }),
      )
      return values
    },
    async set(key, value, ttl) {
      await send(key, ['SET', key, value, 'PX', String(px(ttl))])
    },
    async mset(writes: readonly L2Write[]) {
      if (writes.length === 0) return
      // issued in one tick: node-redis writes each node's share as one pipeline
      const sent: Promise<unknown>[] = []
      for (const w of writes) {
        sent.push(send(w.key, ['SET', w.key, w.value, 'PX', String(px(w.ttl))]))
        for (const args of tagCommands(w)) sent.push(send(args[1], args))
      }
      await Promise.all(sent)
    },
    async delete(keys) {
      if (keys.length === 0) return
      await unlinkWith(runner, keys)
    },
    async clear(prefix) {
      const c = await connect()
      const masters = (await Promise.all(c.masters.map((master) => c.nodeClient(master)))) as AnyRedisClient[]
      return scanAndUnlink(masters, `${escapeGlob(prefix)}*`, scanCount, (keys) => unlinkWith(runner, keys))
    },
    deleteTag: (tagKey) => deleteTagWith(runner, tagKey),
    async lock(key, token, ttl) {
      return (await send(key, ['SET', key, token, 'NX', 'PX', String(px(ttl))])) === 'OK'
    },
    async unlock(key, token) {
      await runner.script(UNLOCK_SCRIPT, [key], [token])
    },
    streams: streamsWith(runner, masterOf),
    bus(stream, channel, maxLen): InvalidationBus {
      return {
        ...streamBus(runner, stream, channel, maxLen),
        async subscribe(onMessage, onReady, onLost) {
          // A cluster client of its own that only discovers the topology: its one connection is
          // the Pub/Sub one, on a node node-redis picks (PUBLISH reaches every node of a cluster).
          const sub = (await connect()).duplicate({ minimizeConnections: true }) as AnyRedisCluster
          sub.on('error', report)
          sub.on('node-error', report)
          subscribers.add(sub)
          try {
            await within(connectTimeout, 'the Pub/Sub subscription', (async () => {
              await sub.connect()
              await sub.subscribe(channel, (payload: string) => {
                const [id, message] = splitPayload(payload)
                onMessage(id, message)
              })
            })())
          } catch (error) {
            subscribers.delete(sub)
            sub.destroy()
            throw error
          }
          // The Pub/Sub connection reconnects and re-subscribes by itself ('ready' after the
          // re-subscription). When a topology refresh drops its node, node-redis destroys it
          // ('end') and moves the subscription to a new connection: 'node-ready' names no
          // connection, so the current one is compared with the one being watched.
          let watched: AnyRedisClient | undefined
          let unwatch = (): void => undefined
          const watch = (client: AnyRedisClient): void => {
            unwatch()
            watched = client
            unwatch = watchConnection(client, onReady, onLost)
          }
          const onNodeReady = (): void => {
            const node = sub.pubSubNode
            if (node === undefined || node.client === watched) return
            watch(node.client as AnyRedisClient)
            // the moved listeners are re-subscribed once connectPromise settles
            void (node.connectPromise ?? Promise.resolve()).then(onReady, () => undefined)
          }
          const current = sub.pubSubNode
          if (current !== undefined) watch(current.client as AnyRedisClient)
          sub.on('node-ready', onNodeReady)
          onReady()
          return async () => {
            subscribers.delete(sub)
            sub.off('node-ready', onNodeReady)
            unwatch()
            sub.destroy()
          }
        },
      }
    },
    async close() {
      for (const sub of subscribers) sub.destroy()
      subscribers.clear()
      await conn.close()
    },
  }
}
