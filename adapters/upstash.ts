/**
 * L2 over HTTP: the Upstash REST protocol through @upstash/redis. Works on every runtime
 * with `fetch` (Workers included), against Upstash or the tiercache REST bridge.
 * @module
 */
import { Redis } from '@upstash/redis'
import type { L2Store, L2Write, StreamOps } from '../src/contracts.js'
import { InvalidOptionError } from '../src/errors.js'
import { redactSecrets } from '../src/observability.js'
import { escapeGlob } from './glob.js'
import { deleteTagWith, UNLOCK_SCRIPT, LATEST_SCRIPT, parseEntries, parseXread, streamBus, type CommandRunner } from './redis-ops.js'

/** Options of {@link upstash}: `url` + `token` (or the environment), or your `client`. */
export interface UpstashStoreOptions {
  /** REST URL. @default env UPSTASH_REDIS_REST_URL, then KV_REST_API_URL */
  url?: string
  /** REST token. @default env UPSTASH_REDIS_REST_TOKEN, then KV_REST_API_TOKEN */
  token?: string
  /**
   * An @upstash/redis client you made. tiercache stores plain strings, so the client's
   * automatic deserialization does not matter; its retry settings apply as you set them.
   */
  client?: Redis
  /** Retries of a request that failed on the network (not on a Redis error). @default 1 */
  retries?: number
  /** Where to look for the env defaults (e.g. a Worker's `env`). @default process.env where it exists */
  env?: Record<string, string | undefined>
  /** Keys per SCAN step when clearing a namespace. @default 1000 */
  scanCount?: number
}

/** The store returned by {@link upstash}; `client` is the @upstash/redis client in use. */
export interface UpstashStore extends L2Store {
  readonly client: Redis
}

function processEnv(): Record<string, string | undefined> {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
  return proc?.env ?? {}
}

/**
 * Creates an L2 store over HTTP.
 *
 * One request per operation: `mget` is one MGET, `mset` one `/pipeline` of `SET … PX`
 * (commands issued in the same tick share it, through the client's auto-pipelining),
 * `delete` one UNLINK; `clear` pages through SCAN + UNLINK. Responses use base64 encoding,
 * so values round-trip byte-exact. Network failures are retried `retries` times (the
 * client's default of 5 with exponential backoff would hold a read for seconds).
 *
 * @example
 * ```ts
 * import { createCache } from 'tiercache'
 * import { upstash } from 'tiercache/upstash'
 * // UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN from the environment:
 * const cache = createCache({ namespace: 'user', l2: upstash() })
 * // or a REST bridge in front of your own Redis:
 * const viaBridge = createCache({ namespace: 'user', l2: upstash({ url: 'http://127.0.0.1:8080', token }) })
 * ```
 */
export function upstash(options: UpstashStoreOptions = {}): UpstashStore {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('upstash() options must be an object', { option: 'upstash' })
  const scanCount = options.scanCount ?? 1000
  let client: Redis
  let endpoint = 'your @upstash/redis client' // for diagnostics; the token is never shown
  if (options.client !== undefined) {
    if (options.url !== undefined || options.token !== undefined) {
      throw new InvalidOptionError('upstash() takes either { client } or { url, token }, not both', { option: 'upstash.client' })
    }
    if (typeof (options.client as { get?: unknown }).get !== 'function') {
      throw new InvalidOptionError('upstash.client must be an @upstash/redis Redis client', { option: 'upstash.client' })
    }
    client = options.client
  } else {
    const env = options.env ?? processEnv()
    const url = options.url ?? env.UPSTASH_REDIS_REST_URL ?? env.KV_REST_API_URL
    const token = options.token ?? env.UPSTASH_REDIS_REST_TOKEN ?? env.KV_REST_API_TOKEN
    if (typeof url !== 'string' || !/^https?:\/\/\S+$/.test(url)) {
      throw new InvalidOptionError(`upstash.url must be an http(s) URL (or set UPSTASH_REDIS_REST_URL); got ${url === undefined ? 'nothing' : JSON.stringify(url)}`, { option: 'upstash.url' })
    }
    if (typeof token !== 'string' || token.length === 0) {
      throw new InvalidOptionError('upstash.token is required (or set UPSTASH_REDIS_REST_TOKEN)', { option: 'upstash.token' })
    }
    endpoint = redactSecrets(url)
    const retries = options.retries ?? 1
    if (!Number.isInteger(retries) || retries < 0) throw new InvalidOptionError('upstash.retries must be a non-negative integer', { option: 'upstash.retries' })
    client = new Redis({
      url,
      token,
      automaticDeserialization: false,
      enableTelemetry: false,
      retry: retries === 0 ? false : { retries, backoff: (attempt) => 25 * 2 ** attempt },
    })
  }

  const px = (ttl: number): number => Math.max(1, Math.ceil(ttl))
  const runner: CommandRunner = {
    command: (args) => client.exec(args as [string, ...string[]]),
    // evalRo is batched with reads by the client's auto-pipelining, eval with writes
    script: (source, keys, args, readOnly) => (readOnly === true ? client.evalRo(source, keys, args) : client.eval(source, keys, args)),
  }
  const streams: StreamOps = {
    async add(key, fields, maxLen) {
      return String(await client.exec(['XADD', key, 'MAXLEN', '~', String(maxLen), '*', ...Object.entries(fields).flat()]))
    },
    async latest(key, count) {
      return parseEntries(await runner.script(LATEST_SCRIPT, [key], [String(count)], true))
    },
    async read(key, { after, count, block }) {
      return parseXread(await client.exec(['XREAD', 'COUNT', String(count), ...(block !== undefined ? ['BLOCK', String(block)] : []), 'STREAMS', key, after]))
    },
  }
  const asString = (value: unknown): string | null => (value === null || value === undefined ? null : typeof value === 'string' ? value : JSON.stringify(value))

  return {
    kind: 'l2',
    name: 'upstash',
    client,
    describe: () => ({ endpoint }),
    async get(key) {
      return asString(await client.get(key))
    },
    async mget(keys) {
      if (keys.length === 0) return []
      const values = await client.mget<unknown[]>(...keys)
      return values.map(asString)
    },
    async set(key, value, ttl) {
      await client.set(key, value, { px: px(ttl) })
    },
    async mset(writes: readonly L2Write[]) {
      if (writes.length === 0) return
      // issued in one tick: the client's auto-pipelining sends them (and an invalidation
      // published in the same tick) as one /pipeline request
      const sent: Promise<unknown>[] = []
      for (const w of writes) {
        sent.push(client.set(w.key, w.value, { px: px(w.ttl) }))
        for (const tagKey of w.tagKeys ?? []) {
          sent.push(client.sadd(tagKey, w.key), client.pexpire(tagKey, px(w.ttl), 'NX' as never), client.pexpire(tagKey, px(w.ttl), 'GT' as never))
        }
      }
      await Promise.all(sent)
    },
    deleteTag: (tagKey) => deleteTagWith(runner, tagKey),
    async lock(key, token, ttl) {
      return (await client.set(key, token, { nx: true, px: px(ttl) })) === 'OK'
    },
    async unlock(key, token) {
      await runner.script(UNLOCK_SCRIPT, [key], [token])
    },
    streams,
    bus: (stream, channel, maxLen) => streamBus(runner, stream, channel, maxLen),
    async delete(keys) {
      if (keys.length === 0) return
      await client.unlink(...keys)
    },
    async clear(prefix) {
      let cursor: string | number = '0'
      let removed = 0
      do {
        const [next, keys]: [string | number, string[]] = await client.scan(cursor, { match: `${escapeGlob(prefix)}*`, count: scanCount })
        if (keys.length > 0) removed += await client.unlink(...keys)
        cursor = next
      } while (String(cursor) !== '0')
      return removed
    },
  }
}
