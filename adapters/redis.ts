/**
 * L2 over TCP with node-redis: SET with PX, MGET, one pipeline per mset, UNLINK, and
 * namespace clears with SCAN + UNLINK (never KEYS or FLUSHDB).
 * @module
 */
import type { L2Store, L2Write, StreamOps } from '../src/contracts.js'
import { checkConnectionOptions, connection, type AnyRedisClient } from './redis-connection.js'
import { escapeGlob } from './glob.js'
import { deleteTagWith, UNLOCK_SCRIPT, LATEST_SCRIPT, parseEntries, parseXread, splitPayload, streamBus, tagCommands, type CommandRunner } from './redis-ops.js'

export { escapeGlob }

/** Options of {@link redis}: either `url` (the store opens and owns a client) or `client`. */
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

/** The store returned by {@link redis}; `client()` exposes the connected node-redis client. */
export interface RedisStore extends L2Store {
  /** The connected client (connecting it first if needed). */
  client(): Promise<AnyRedisClient>
}


/**
 * Creates an L2 store over node-redis.
 *
 * A client the store opens itself is created with `disableOfflineQueue`, so commands fail
 * fast while Redis is unreachable instead of queueing: a call waits at most `connectTimeout`
 * for a connection, and fails at once for a second after a failed attempt (the cache then
 * falls back to L1 and the loader). node-redis keeps reconnecting in the background.
 *
 * @example
 * ```ts
 * import { createCache } from 'tiercache'
 * import { redis } from 'tiercache/redis'
 * const cache = createCache({ namespace: 'user', l2: redis({ url: 'redis://127.0.0.1:6379' }) })
 * ```
 */
export function redis(options: RedisStoreOptions): RedisStore {
  checkConnectionOptions(options, 'redis')
  const scanCount = options.scanCount ?? 1000
  const conn = connection(options)
  const connect = conn.get
  const subscribers = new Set<AnyRedisClient>()
  const runner: CommandRunner = {
    command: async (args) => (await connect()).sendCommand(args),
    script: async (source, keys, args) => (await connect()).sendCommand(['EVAL', source, String(keys.length), ...keys, ...args]),
  }
  const streams: StreamOps = {
    async add(key, fields, maxLen) {
      return String(await runner.command(['XADD', key, 'MAXLEN', '~', String(maxLen), '*', ...Object.entries(fields).flat()]))
    },
    async latest(key, count) {
      return parseEntries(await runner.script(LATEST_SCRIPT, [key], [String(count)]))
    },
    async read(key, { after, count, block }) {
      const args = ['XREAD', 'COUNT', String(count), ...(block !== undefined ? ['BLOCK', String(block)] : []), 'STREAMS', key, after]
      if (block === undefined) return parseXread(await runner.command(args))
      // a blocking read holds its connection: give it one of its own
      const client = (await connect()).duplicate() as AnyRedisClient
      client.on('error', () => undefined)
      try {
        await client.connect()
        return parseXread(await client.sendCommand(args))
      } finally {
        client.destroy()
      }
    },
  }

  return {
    kind: 'l2',
    name: 'redis',
    client: connect,
    async get(key) {
      const c = await connect()
      return (await c.get(key)) as string | null
    },
    async mget(keys) {
      if (keys.length === 0) return []
      const c = await connect()
      return (await c.mGet(keys as string[])) as (string | null)[]
    },
    async set(key, value, ttl) {
      const c = await connect()
      await c.set(key, value, { expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttl)) } })
    },
    async mset(writes: readonly L2Write[]) {
      if (writes.length === 0) return
      const c = await connect()
      const pipeline = c.multi()
      for (const w of writes) {
        pipeline.set(w.key, w.value, { expiration: { type: 'PX', value: Math.max(1, Math.ceil(w.ttl)) } })
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
      let removed = 0
      for await (const batch of c.scanIterator({ MATCH: `${escapeGlob(prefix)}*`, COUNT: scanCount })) {
        const keys = batch as string[]
        if (keys.length > 0) removed += Number(await c.unlink(keys))
      }
      return removed
    },
    deleteTag: (tagKey) => deleteTagWith(runner, tagKey),
    async lock(key, token, ttl) {
      const c = await connect()
      return (await c.set(key, token, { condition: 'NX', expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttl)) } })) === 'OK'
    },
    async unlock(key, token) {
      await runner.script(UNLOCK_SCRIPT, [key], [token])
    },
    streams,
    bus(stream, channel, maxLen) {
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
          client.on('ready', onReady)
          client.on('reconnecting', onLost)
          client.on('end', onLost)
          subscribers.add(client)
          onReady()
          return async () => {
            subscribers.delete(client)
            client.off('ready', onReady)
            client.off('reconnecting', onLost)
            client.off('end', onLost)
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
