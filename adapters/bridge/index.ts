/**
 * A REST bridge: a Hono app that speaks the Upstash REST protocol in front of any Redis
 * reached over TCP, so the HTTP L2 (`upstash()`, or any @upstash/redis client) works with
 * self-hosted Redis, from Workers and every other runtime.
 * @module
 */
import { Hono, type Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import { RESP_TYPES } from 'redis'
import { InvalidOptionError } from '../../src/errors.js'
import { connection, redactUrl, type AnyRedisClient, type ConnectionOptions } from '../redis-connection.js'
import { commandPolicy } from './commands.js'
import { BridgeRequestError, encodeReply, errorMessage, parseBody } from './protocol.js'

export { DEFAULT_DENIED } from './commands.js'

/** Options of {@link createBridge}. */
export interface BridgeOptions {
  /** The Redis to serve: `redis://` or `rediss://` URL. Give this or `client`. */
  url?: string
  /** A node-redis client to serve instead of `url` (use `RESP: 2`); never closed by the bridge. */
  client?: AnyRedisClient
  /** The bearer token clients must send. Required, at least 16 characters. */
  token: string
  /** Largest request body in bytes; larger ones get 413. @default 10485760 (10 MiB) */
  maxBodyBytes?: number
  /** Commands to allow although they are refused by default, e.g. `['KEYS', 'FLUSHDB']`. */
  allow?: readonly string[]
  /** More commands to refuse, e.g. `['EVAL', 'CLIENT LIST']`. */
  deny?: readonly string[]
  /** How long a request waits for Redis before answering 500, in ms. @default 2000 */
  connectTimeout?: number
  /** Receives Redis connection errors. */
  onError?: (error: unknown) => void
}

/** The Hono app of the bridge, plus `close()` for its Redis connections. */
export type Bridge = Hono & {
  /** Closes the connections the bridge opened, ends open subscriptions. */
  close(): Promise<void>
}

const DEFAULT_MAX_BODY = 10 * 1024 * 1024
const BINARY_SAFE = { RESP: 2 as const, commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Uint8Array as unknown as BufferConstructor } } }

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
}

/** Compares SHA-256 digests, so the time taken says nothing about the token. */
function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length
  for (let i = 0; i < a.length && i < b.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

/** Past this many bytes an oversized body is no longer read to its end (the connection then breaks). */
const DRAIN_LIMIT = 64 * 1024 * 1024

/**
 * Reads the request body up to `max` bytes. An oversized body is read to its end (up to
 * DRAIN_LIMIT) before the 413, because HTTP clients that are still sending treat an early
 * answer as a broken connection and retry.
 */
async function readBody(c: Context, max: number): Promise<string> {
  const body = c.req.raw.body
  if (body === null) return ''
  const declared = Number(c.req.header('content-length'))
  let tooLarge = Number.isFinite(declared) && declared > max
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) tooLarge = true
    if (!tooLarge) chunks.push(value)
    else if (size > Math.max(DRAIN_LIMIT, max)) {
      await reader.cancel()
      break
    }
  }
  if (tooLarge) throw new BridgeRequestError(413, `ERR the request body is larger than ${max} bytes`)
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return new TextDecoder().decode(bytes)
}

/**
 * Creates the bridge app. Serve it with any server that takes a fetch handler
 * (`@hono/node-server`, `Bun.serve`, `Deno.serve`), or run the `tiercache-bridge` bin.
 *
 * - `POST /` one command, `POST /pipeline` several, `POST /multi-exec` a transaction;
 *   `POST /subscribe/<channel>` and `/psubscribe/<pattern>` stream Server-Sent Events.
 * - `Authorization: Bearer <token>` on every request (401 otherwise; compared in constant time).
 * - `Upstash-Encoding: base64` base64-encodes every string of the result but `OK`.
 * - Status codes: 400 for a Redis error on `/` and for malformed requests, 403 for a refused
 *   command, 413 for a body over `maxBodyBytes`, 500 while Redis is unreachable; `/pipeline`
 *   answers 200 with an error per failed item.
 * - `GET /health` answers `{"result":"ok"}` without a token when Redis answers PING (503 otherwise).
 *
 * @example
 * ```ts
 * import { serve } from '@hono/node-server'
 * import { createBridge } from 'tiercache/bridge'
 * const bridge = createBridge({ url: 'redis://127.0.0.1:6379', token: process.env.BRIDGE_TOKEN! })
 * serve({ fetch: bridge.fetch, port: 8080 })
 * // then: upstash({ url: 'http://127.0.0.1:8080', token: process.env.BRIDGE_TOKEN })
 * ```
 */
export function createBridge(options: BridgeOptions): Bridge {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('createBridge needs an options object', { option: 'bridge' })
  if (typeof options.token !== 'string' || options.token.length < 16) {
    throw new InvalidOptionError('bridge.token is required and must be at least 16 characters (clients send it as a bearer token)', { option: 'bridge.token' })
  }
  if ((options.url === undefined) === (options.client === undefined)) {
    throw new InvalidOptionError('createBridge needs exactly one of { url } or { client }', { option: 'bridge.url' })
  }
  if (options.url !== undefined && (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url))) {
    throw new InvalidOptionError(`bridge.url must start with redis:// or rediss://; got ${typeof options.url === 'string' ? JSON.stringify(redactUrl(options.url)) : typeof options.url}`, { option: 'bridge.url' })
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new InvalidOptionError('bridge.maxBodyBytes must be a positive integer', { option: 'bridge.maxBodyBytes' })
  }
  for (const list of ['allow', 'deny'] as const) {
    const value = options[list]
    if (value !== undefined && (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))) {
      throw new InvalidOptionError(`bridge.${list} must be an array of command names`, { option: `bridge.${list}` })
    }
  }

  const policy = commandPolicy(options.allow, options.deny)
  const target: ConnectionOptions = { url: options.url, client: options.client, connectTimeout: options.connectTimeout, onError: options.onError }
  const main = connection(target, BINARY_SAFE)
  let subscriber: ReturnType<typeof connection> | undefined
  const dedicated = new Set<AnyRedisClient>()
  const streams = new Set<() => void>()
  const expected = digest(options.token)

  /** A connection of its own for a blocking command or a pipeline holding one; closed after use. */
  const withDedicated = async <T>(run: (client: AnyRedisClient) => Promise<T>): Promise<T> => {
    const shared = await main.get()
    const client = shared.duplicate() as AnyRedisClient
    client.on('error', () => undefined)
    dedicated.add(client)
    try {
      await client.connect()
      return await run(client)
    } finally {
      dedicated.delete(client)
      client.destroy()
    }
  }

  const app = new Hono()

  app.get('/health', async (c) => {
    try {
      await (await main.get()).sendCommand(['PING'])
      return c.json({ result: 'ok' })
    } catch (error) {
      return c.json({ error: `redis unreachable: ${errorMessage(error)}` }, 503)
    }
  })

  app.use('*', async (c, next) => {
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer\s+(.+)$/i.exec(header)
    const ok = match !== null && sameDigest(await digest(match[1]!.trim()), await expected)
    if (!ok) return c.json({ error: 'Unauthorized: send Authorization: Bearer <token>' }, 401)
    const sync = c.req.header('upstash-sync-token')
    if (sync !== undefined) c.header('upstash-sync-token', sync)
    await next()
  })

  const base64Of = (c: Context): boolean => (c.req.header('upstash-encoding') ?? '').toLowerCase() === 'base64'

  const check = (commands: string[][]): void => {
    for (const args of commands) {
      const refused = policy.denied(args)
      if (refused !== undefined) throw new BridgeRequestError(403, refused)
      const unsupported = policy.unsupported(args)
      if (unsupported !== undefined) throw new BridgeRequestError(400, unsupported)
    }
  }

  const failure = (c: Context, error: unknown): Response => {
    if (error instanceof BridgeRequestError) return c.json({ error: error.message }, error.status as 400 | 403 | 413)
    return c.json({ error: `ERR redis unreachable: ${errorMessage(error)}` }, 500)
  }

  app.post('/', async (c) => {
    let commands: string[][]
    try {
      commands = parseBody(await readBody(c, maxBodyBytes), 'single')
      check(commands)
    } catch (error) {
      return failure(c, error)
    }
    const args = commands[0]!
    let client: AnyRedisClient
    try {
      client = await main.get()
    } catch (error) {
      return failure(c, error)
    }
    try {
      const reply = policy.blocking(args) ? await withDedicated((d) => d.sendCommand(args)) : await client.sendCommand(args)
      return c.json({ result: encodeReply(reply, base64Of(c)) })
    } catch (error) {
      if (!client.isReady) return failure(c, error)
      return c.json({ error: errorMessage(error) }, 400)
    }
  })

  app.post('/pipeline', async (c) => {
    let commands: string[][]
    let client: AnyRedisClient
    try {
      commands = parseBody(await readBody(c, maxBodyBytes), 'list')
      check(commands)
      client = await main.get()
    } catch (error) {
      return failure(c, error)
    }
    const base64 = base64Of(c)
    const run = async (runner: AnyRedisClient, sequential: boolean): Promise<unknown[]> => {
      const settle = (args: string[]): Promise<unknown> =>
        runner.sendCommand(args).then((reply: unknown) => ({ result: encodeReply(reply, base64) }), (error: unknown) => ({ error: errorMessage(error) }))
      if (!sequential) return Promise.all(commands.map(settle)) // one connection: sent and answered in order
      const out: unknown[] = []
      for (const args of commands) out.push(await settle(args))
      return out
    }
    try {
      const items = commands.some((args) => policy.blocking(args)) ? await withDedicated((d) => run(d, true)) : await run(client, false)
      if (!client.isReady) throw new Error('connection lost during the pipeline')
      return c.json(items)
    } catch (error) {
      return failure(c, error)
    }
  })

  app.post('/multi-exec', async (c) => {
    let commands: string[][]
    let client: AnyRedisClient
    try {
      commands = parseBody(await readBody(c, maxBodyBytes), 'list')
      check(commands)
      if (commands.some((args) => policy.blocking(args))) {
        throw new BridgeRequestError(400, 'ERR blocking commands cannot run inside /multi-exec')
      }
      client = await main.get()
    } catch (error) {
      return failure(c, error)
    }
    const base64 = base64Of(c)
    // node-redis sends MULTI, the commands and EXEC back to back on its connection
    const multi = client.multi()
    for (const args of commands) multi.addCommand(args)
    try {
      const replies = (await multi.exec()) as unknown[]
      return c.json(replies.map((reply) => ({ result: encodeReply(reply, base64) })))
    } catch (error) {
      const partial = error as { replies?: unknown[]; errorIndexes?: number[] }
      if (Array.isArray(partial.replies)) {
        return c.json(partial.replies.map((reply) => reply instanceof Error ? { error: reply.message } : { result: encodeReply(reply, base64) }))
      }
      if (!client.isReady) return failure(c, error)
      return c.json({ error: errorMessage(error) }, 400)
    }
  })

  const subscribe = (pattern: boolean) => async (c: Context): Promise<Response> => {
    const prefix = pattern ? '/psubscribe/' : '/subscribe/'
    const path = new URL(c.req.url).pathname
    const raw = path.slice(path.indexOf(prefix) + prefix.length)
    let channel: string
    try {
      channel = decodeURIComponent(raw)
    } catch {
      channel = raw
    }
    if (channel.length === 0) return c.json({ error: `ERR POST ${prefix}<${pattern ? 'pattern' : 'channel'}>` }, 400)
    let client: AnyRedisClient
    try {
      // subscriptions need a connection of their own; a caller's client is duplicated, and the duplicate is ours
      subscriber ??= options.client === undefined
        ? connection(target, { RESP: 2 })
        : connection({ ...target, client: options.client.duplicate() as AnyRedisClient }, {}, true)
      client = await subscriber.get()
    } catch (error) {
      return failure(c, error)
    }
    return streamSSE(c, async (stream) => {
      let close!: () => void
      const closed = new Promise<void>((resolve) => (close = resolve))
      streams.add(close)
      stream.onAbort(close)
      const write = (data: string): void => {
        void stream.writeSSE({ data }).catch(close)
      }
      const listener = pattern
        ? (message: string, from: string) => write(`pmessage,${channel},${from},${message}`)
        : (message: string) => write(`message,${channel},${message}`)
      try {
        if (pattern) await client.pSubscribe(channel, listener)
        else await client.subscribe(channel, listener)
        write(`${pattern ? 'psubscribe' : 'subscribe'},${channel},1`)
        await closed
      } finally {
        streams.delete(close)
        const undo = pattern ? client.pUnsubscribe(channel, listener) : client.unsubscribe(channel, listener)
        await undo.catch(() => undefined)
      }
    })
  }
  app.on(['GET', 'POST'], '/subscribe/*', subscribe(false))
  app.on(['GET', 'POST'], '/psubscribe/*', subscribe(true))

  app.notFound((c) => c.json({ error: `ERR no route ${c.req.method} ${new URL(c.req.url).pathname}; use POST /, /pipeline, /multi-exec, /subscribe/<channel>, /psubscribe/<pattern>` }, 404))
  app.onError((error, c) => c.json({ error: `ERR ${errorMessage(error)}` }, 500))

  return Object.assign(app, {
    async close() {
      for (const end of [...streams]) end()
      for (const client of [...dedicated]) client.destroy()
      await subscriber?.close()
      await main.close()
    },
  })
}
