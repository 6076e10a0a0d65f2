/**
 * A node-redis client (or cluster client) that never makes a caller wait on a dead Redis: shared
 * by the TCP L2 (`redis()`) and the REST bridge.
 * @module
 */
import { createClient, createCluster, type RedisClientOptions, type RedisClientType, type RedisClusterOptions, type RedisClusterType } from 'redis'
import { InvalidOptionError } from '../src/errors.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRedisClient = RedisClientType<any, any, any, any, any>
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRedisCluster = RedisClusterType<any, any, any, any, any>
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRedisClusterOptions = RedisClusterOptions<any, any, any, any, any>

/** How to reach Redis: a URL (the connection opens and owns a client) or your client. */
export interface ConnectionOptions {
  url?: string | undefined
  client?: AnyRedisClient | undefined
  /** How long a call waits for a connection before failing, in ms. @default 2000 */
  connectTimeout?: number | undefined
  /** Receives connection errors (which otherwise only fail the commands they affect). */
  onError?: ((error: unknown) => void) | undefined
}

/** A lazily connected client. */
export interface Connection<C = AnyRedisClient> {
  /** The ready client, connecting it first; rejects within connectTimeout while Redis is down. */
  get(): Promise<C>
  /** The client if it is ready now, else `undefined` (then use `get()`). */
  current(): C | undefined
  /** Whether the client was opened here (and is closed by `close()`). */
  readonly owned: boolean
  /** Closes an owned client; leaves a caller's client alone. */
  close(): Promise<void>
}

const FAIL_FAST_MS = 1000

function notConnected(cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new Error(`redis: not connected (${reason})`, { cause })
}

/**
 * The fail-fast wait both kinds of connection share: the client at once when it is ready;
 * otherwise one wait, shared by every caller, for `start` to report it ready or failed (at most
 * connectTimeout); and for FAIL_FAST_MS after a failed attempt, an immediate rejection.
 * `start` begins connecting if needed, calls `settle` once it knows, and returns what undoes
 * its listeners.
 */
function failFast<C extends { readonly isReady: boolean }>(
  client: () => C,
  connectTimeout: number,
  what: string,
  start: (c: C, settle: (error?: unknown) => void) => () => void,
): () => Promise<C> {
  let waiting: Promise<C> | undefined
  let lastError: unknown
  let lastErrorAt = -Infinity
  return () => {
    const c = client()
    if (c.isReady) return Promise.resolve(c)
    if (Date.now() - lastErrorAt < FAIL_FAST_MS) return Promise.reject(notConnected(lastError))
    waiting ??= new Promise<C>((resolve, reject) => {
      let settled = false
      let stop: (() => void) | undefined
      const settle = (error?: unknown): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        stop?.()
        waiting = undefined
        if (error === undefined) return resolve(c)
        lastError = error
        lastErrorAt = Date.now()
        reject(notConnected(error))
      }
      const timer = setTimeout(() => settle(new Error(`no ${what} within ${connectTimeout} ms`)), connectTimeout)
      stop = start(c, settle)
      if (settled) stop()
    })
    return waiting
  }
}

/** Masks the password of a redis:// URL for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}

/** Validates `{ url } | { client }` (exactly one) and a redis:// or rediss:// URL. */
export function checkConnectionOptions(options: ConnectionOptions | null | undefined, option: string): void {
  if (options === null || typeof options !== 'object' || (options.url === undefined) === (options.client === undefined)) {
    throw new InvalidOptionError(`${option}() needs exactly one of { url } or { client }`, { option })
  }
  if (options.url !== undefined && (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url))) {
    const got = typeof options.url === 'string' ? JSON.stringify(redactUrl(options.url)) : typeof options.url
    throw new InvalidOptionError(`${option}.url must start with redis:// or rediss://; got ${got}`, { option: `${option}.url` })
  }
}

/**
 * Wraps node-redis' connection handling. An owned client is created with
 * `disableOfflineQueue`, so commands fail while Redis is unreachable instead of queueing.
 * node-redis keeps reconnecting in the background and its `connect()` stays pending while
 * Redis is down; a call here waits for 'ready' or the next 'error' (at most connectTimeout)
 * and fails at once for a second after a failed attempt.
 */
export function connection(
  options: ConnectionOptions,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  clientOptions: Partial<RedisClientOptions<any, any, any, any, any>> = {},
  owned: boolean = options.client === undefined,
): Connection {
  const connectTimeout = options.connectTimeout ?? 2000
  let client: AnyRedisClient | undefined = options.client

  const create = (): AnyRedisClient => {
    // node-redis arms an AbortSignal timer per command by default (about 14 µs each here); the
    // cache bounds every operation with l2Timeout already, so clients it owns go without
    const c = createClient({
      ...clientOptions,
      url: options.url,
      disableOfflineQueue: true,
      socket: { connectTimeout },
      commandOptions: { timeout: 0, ...clientOptions.commandOptions },
    }) as AnyRedisClient
    c.on('error', (error: unknown) => options.onError?.(error))
    return c
  }

  const get = failFast(() => (client ??= create()), connectTimeout, 'connection', (c, settle) => {
    const onReady = (): void => settle()
    const onError = (error: unknown): void => settle(error ?? new Error('connection error'))
    c.on('ready', onReady)
    c.on('error', onError)
    if (!c.isOpen) c.connect().catch(() => undefined) // failures arrive as 'error' events
    return () => {
      c.off('ready', onReady)
      c.off('error', onError)
    }
  })

  return {
    get,
    current: () => (client?.isReady === true ? client : undefined),
    owned,
    async close() {
      if (!owned || client === undefined) return
      const c = client
      client = undefined
      if (c.isReady) await c.close()
      else if (c.isOpen) c.destroy()
    },
  }
}

/** How to reach a Redis Cluster: `createCluster` options (the connection owns the cluster client) or your cluster client. */
export interface ClusterConnectionOptions {
  cluster: AnyRedisClusterOptions | AnyRedisCluster
  /** How long a call waits for the cluster (topology and every master) before failing, in ms. @default 2000 */
  connectTimeout?: number | undefined
  /** Receives the cluster's errors and every node connection's errors. */
  onError?: ((error: unknown) => void) | undefined
}

/** Whether `value` is a node-redis cluster client rather than its options. */
export function isClusterClient(value: unknown): value is AnyRedisCluster {
  return value !== null && typeof value === 'object' && typeof (value as { connect?: unknown }).connect === 'function'
}

/**
 * A lazily connected node-redis cluster client, with the same fail-fast behaviour as
 * {@link connection}. An owned cluster is created with `disableOfflineQueue` and
 * `connectTimeout` in `defaults` (the options every node connection is made with), so a command
 * for a node that is down fails at once. `connect()` resolves once the topology is known and
 * every master is connected; a call here waits for it at most connectTimeout, and fails at once
 * for a second after a failed or timed-out attempt.
 */
export function clusterConnection(options: ClusterConnectionOptions): Connection<AnyRedisCluster> {
  const connectTimeout = options.connectTimeout ?? 2000
  const owned = !isClusterClient(options.cluster)
  let cluster: AnyRedisCluster | undefined = owned ? undefined : (options.cluster as AnyRedisCluster)

  const create = (): AnyRedisCluster => {
    const given = options.cluster as AnyRedisClusterOptions
    const c = createCluster({
      ...given,
      defaults: { ...given.defaults, disableOfflineQueue: true, socket: { connectTimeout, ...given.defaults?.socket } },
    }) as AnyRedisCluster
    const report = (error: unknown): void => options.onError?.(error)
    c.on('error', report)
    c.on('node-error', report)
    return c
  }

  const get = failFast(() => (cluster ??= create()), connectTimeout, 'cluster connection', (c, settle) => {
    // 'connect' is the cluster's ready: topology discovered and the masters connected
    const onReady = (): void => settle()
    c.on('connect', onReady)
    if (!c.isOpen) c.connect().then(() => settle(), (error: unknown) => settle(error ?? new Error('connection error')))
    return () => c.off('connect', onReady)
  })

  return {
    get,
    current: () => (cluster?.isReady === true ? cluster : undefined),
    owned,
    async close() {
      if (!owned || cluster === undefined) return
      const c = cluster
      cluster = undefined
      if (c.isReady) await c.close().catch(() => c.destroy())
      else if (c.isOpen) c.destroy()
    },
  }
}
