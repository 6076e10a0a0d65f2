/**
 * L2 over TCP with node-redis: SET with PX, MGET, one pipeline per mset, UNLINK, and
 * namespace clears with SCAN + UNLINK (never KEYS or FLUSHDB).
 * @module
 */
import { createClient, type RedisClientType } from 'redis'
import type { L2Store, L2Write } from '../src/contracts.js'
import { InvalidOptionError } from '../src/errors.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyRedisClient = RedisClientType<any, any, any, any, any>

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

const FAIL_FAST_MS = 1000

function notConnected(cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new Error(`redis: not connected (${reason})`, { cause })
}

/** Escapes glob metacharacters so a prefix matches itself in SCAN MATCH. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
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
  if (options === null || typeof options !== 'object' || (options.url === undefined) === (options.client === undefined)) {
    throw new InvalidOptionError('redis() needs exactly one of { url } or { client }', { option: 'redis' })
  }
  if (options.url !== undefined && (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url))) {
    throw new InvalidOptionError(`redis.url must start with redis:// or rediss://; got ${typeof options.url === 'string' ? JSON.stringify(options.url.replace(/\/\/[^@/]*@/, '//***@')) : typeof options.url}`, { option: 'redis.url' })
  }
  const scanCount = options.scanCount ?? 1000
  const connectTimeout = options.connectTimeout ?? 2000
  const owned = options.client === undefined
  let client: AnyRedisClient | undefined = options.client
  let waiting: Promise<AnyRedisClient> | undefined
  let lastError: unknown
  let lastErrorAt = -Infinity

  const create = (): AnyRedisClient => {
    const c = createClient({ url: options.url, disableOfflineQueue: true, socket: { connectTimeout } }) as AnyRedisClient
    c.on('error', (error: unknown) => options.onError?.(error))
    return c
  }

  // node-redis keeps reconnecting in the background and its connect() stays pending while
  // Redis is down. A cache must not wait on that: a call waits for 'ready' or the next
  // 'error' (at most connectTimeout), and fails at once while the last failure is recent.
  const connect = (): Promise<AnyRedisClient> => {
    const c = (client ??= create())
    if (c.isReady) return Promise.resolve(c)
    if (Date.now() - lastErrorAt < FAIL_FAST_MS) return Promise.reject(notConnected(lastError))
    waiting ??= new Promise<AnyRedisClient>((resolve, reject) => {
      const settle = (error?: unknown): void => {
        clearTimeout(timer)
        c.off('ready', onReady)
        c.off('error', onError)
        waiting = undefined
        if (error === undefined) return resolve(c)
        lastError = error
        lastErrorAt = Date.now()
        reject(notConnected(error))
      }
      const onReady = (): void => settle()
      const onError = (error: unknown): void => settle(error ?? new Error('connection error'))
      const timer = setTimeout(() => settle(new Error(`no connection within ${connectTimeout} ms`)), connectTimeout)
      c.on('ready', onReady)
      c.on('error', onError)
      if (!c.isOpen) c.connect().catch(() => undefined) // failures arrive as 'error' events
    })
    return waiting
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
      for (const w of writes) pipeline.set(w.key, w.value, { expiration: { type: 'PX', value: Math.max(1, Math.ceil(w.ttl)) } })
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
    async close() {
      if (!owned || client === undefined) return
      const c = client
      client = undefined
      if (c.isReady) await c.close()
      else if (c.isOpen) c.destroy()
    },
  }
}
