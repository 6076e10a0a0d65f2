/**
 * `cacheRoute`: a Hono middleware that caches whole responses in a tiercache (L1 in-process,
 * L2 Redis or the embedded store), on Node, Deno, Bun and Cloudflare Workers alike. Hono's own
 * `cache()` needs the Web Cache API (Workers and Deno only) and stores per colo; this one keeps
 * entries wherever the cache keeps them, shares them between instances through L2, and drops
 * them everywhere with `cache.deleteByTag`.
 *
 * Only web-standard APIs are used (Request, Response, Headers, ReadableStream, crypto.subtle),
 * and `hono` is imported for its types only. On @hono/node-server, `c.env.outgoing` (the Node
 * response) is used when present, duck-typed, to know when a stale answer has been sent.
 *
 * How the handler fits single-flight: a cold key goes through `cache.getOrLoad`, whose loader
 * is the request's own `next()`. The engine runs one loader per key, so in a stampede the first
 * request runs the handler and the others wait for its entry (without running their handlers).
 * The leader answers with its own response; when that response may not be shared (Set-Cookie,
 * no-store, …) the loader returns `null`, which the engine keeps for a short while as a
 * "hit-for-pass" marker: waiters, and later requests while it lives, run their own handlers
 * without queueing behind each other. A handler error stores nothing. Freshness, grace and the
 * origin's `Cache-Control` lifetimes live in the stored entry, so each response can carry its own.
 *
 * See docs/hono.md.
 * @module
 */
import type { Context, Env, Handler, MiddlewareHandler, Next } from 'hono'
import type { TierCache } from '../../src/cache.js'
import { systemClock, type Clock } from '../../src/contracts.js'
import { describe, type Duration } from '../../src/duration.js'
import { InvalidOptionError } from '../../src/errors.js'
import { checkBoolean, checkDuration, checkFunction, checkKnown, checkPositive, checkTags, checkTtl, type LoadOptions, type ReadOptions } from '../../src/options.js'
import { capture, type Captured } from './body.js'
import {
  etagMatches, headersFor304, type Directives, isTextual, parseCacheControl, requestWantsFresh, sha256, storedHeaders, strongEtag, urlKey, utf8, varyKey,
  varyNames,
} from './http.js'

declare module 'hono' {
  interface ContextVariableMap {
    /** Tags for the response `cacheRoute` stores (added to its `tags` option); `cache.deleteByTag(tag)` drops it. */
    cacheTags?: string[]
  }
}

/** What an option's function of the context may return: a value or a promise of one. */
type MaybePromise<T> = T | Promise<T>

/** Options of {@link cacheRoute}. Only `cache` is required; bad values throw when the middleware is built. */
export interface CacheRouteOptions {
  /** The cache that holds the responses (`createCache({ namespace: 'routes' })`); give routes a namespace of their own. */
  cache: TierCache
  /** How long a response is fresh when the origin's `Cache-Control` gives no `s-maxage`/`max-age`. @default '5m' */
  ttl?: Duration
  /**
   * How long past its freshness a response may still be served (`X-Cache: STALE`) while one
   * background refresh runs. The origin's `stale-while-revalidate=N` overrides it, and
   * `must-revalidate` turns it off. @default 0
   */
  grace?: Duration
  /**
   * The key of a request in place of host + path + sorted query (`vary` values and the private
   * identity are still added). Return `null`/`undefined` to let the request bypass the cache.
   */
  key?: (c: Context) => MaybePromise<string | null | undefined>
  /**
   * Request headers whose values are part of the key, e.g. `['accept-language']`. Only these (and
   * the identity of `private`) may shape a stored response: a response whose handler read another
   * request header that the request carried is not stored. @default []
   */
  vary?: readonly string[]
  /** Tags for every stored response (with `c.set('cacheTags', [...])` from the handler). */
  tags?: readonly string[] | ((c: Context) => MaybePromise<readonly string[]>)
  /** Methods served from the cache; HEAD is answered from the GET entry. @default ['GET', 'HEAD'] */
  methods?: readonly ('GET' | 'HEAD')[]
  /** Response statuses stored. @default [200, 203, 204, 300, 301, 404, 410] */
  statuses?: readonly number[]
  /** Largest body stored; bigger ones pass through uncached. @default 1048576 (1 MiB) */
  maxBodyBytes?: number
  /**
   * Caches per user: returns the caller's identity (a user id from a verified session, not the raw
   * token), which becomes part of the key (hashed). With an identity, requests carrying
   * `Authorization` or `Cookie` are cached, and so are `Cache-Control: private` responses.
   * Without one (`null`/`undefined`), such requests bypass the cache.
   */
  private?: (c: Context) => MaybePromise<string | null | undefined>
  /**
   * Honour the request's `Cache-Control: no-cache` (or `max-age=0`, `Pragma: no-cache`): the handler
   * runs and its response replaces the stored one. Off by default, so clients cannot force work on
   * the origin. @default false
   */
  honorNoCache?: boolean
  /** Time source for freshness and `Age` (use the cache's clock in tests). @default systemClock */
  clock?: Clock
}

/** What is stored per route: status, headers, body, and when it was stored, stops being fresh, and stops being servable. */
interface RouteEntry {
  readonly v: 1
  readonly s: number
  /** Stored headers, lower-case names, `etag` included. */
  readonly h: Record<string, string>
  /** Text when the content type is textual and the bytes are UTF-8 (smaller in L2), bytes otherwise, null for no body. */
  readonly b: string | Uint8Array | null
  readonly t: number
  readonly f: number
  readonly g: number
}

/** One request's view: its key and how it may be cached. */
interface Req {
  readonly key: string
  /** Keyed by an identity from `private`. */
  readonly private: boolean
  readonly head: boolean
  /** When this request's handler run started (performance.now()), for Server-Timing's dur. */
  started: number
}

/** The handler's answer, once its body is complete: what to store, or why not. */
type Outcome =
  | { readonly entry: RouteEntry; readonly life: number; readonly tags: readonly string[] }
  | { readonly entry?: undefined; readonly reason: string; readonly error: boolean }

/** One run of the handler for a request. */
interface Run {
  /** Why the response was refused before its body was read; `c.res` is then the handler's response, untouched. */
  readonly refused?: string
  readonly status: number
  readonly headers: Headers
  /** The body, when it was read for the cache. */
  readonly captured?: Captured
  /** Settles when the body is complete. Rejects only on a programmer error (bad tags). */
  readonly outcome: Promise<Outcome>
  /** Headers earlier middleware had set on this request before the handler ran. */
  readonly upstream: [string, string][]
}

/** Per cache: what the middlewares on it share in this process. */
interface Shared {
  /** Entries made or already served here: a later hit on one is an L1 hit (an L2 hit is a new object). */
  readonly known: WeakSet<object>
  /** Keys with a background refresh under way. */
  readonly refreshing: Set<string>
  /** Keys whose expired entry a request is replacing now; others wait for its entry. */
  readonly replacing: Map<string, Promise<RouteEntry | undefined>>
}

const SHARED = new WeakMap<TierCache, Shared>()
const READ: ReadOptions = { disableLoad: true, allowStale: false }
const DEFAULT_STATUSES = [200, 203, 204, 300, 301, 404, 410]
const DEFAULT_MAX_BODY = 1_048_576
/** Longest key kept readable; longer ones are hashed (the engine's limit is 1024). */
const MAX_KEY = 512
/** Longest life of a hit-for-pass marker. */
const PASS_TTL = 30_000
/** Longest wait for a stale response to be sent before its refresh is given up. */
const HANDOFF_TIMEOUT = 30_000
/** Request headers the handler does not see on a cacheable request: the cache answers them itself. */
const CONDITIONAL = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range']
const IDENTITY_HEADERS = ['authorization', 'cookie']
const KNOWN_OPTIONS = new Set(['cache', 'ttl', 'grace', 'key', 'vary', 'tags', 'methods', 'statuses', 'maxBodyBytes', 'private', 'honorNoCache', 'clock'])
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** An error response of the handler: not stored, and waiters run their own handlers. */
class OriginError extends Error {
  constructor(reason: string) {
    super(`the handler's response is an error (${reason})`)
    this.name = 'OriginError'
  }
}

/**
 * Caches the responses of the routes it is mounted on, in a tiercache: an L1 hit costs one L1
 * read and one `Response`; L2 (Redis) shares entries between instances; `cache.deleteByTag`
 * drops them everywhere.
 *
 * - GET responses with a listed status are stored with their headers and body (text or binary);
 *   HEAD is answered from the GET entry. Bodies over `maxBodyBytes` pass through; streamed bodies
 *   reach the client as they are produced and are stored when they end.
 * - The origin's `Cache-Control` rules: `s-maxage`/`max-age` set the ttl,
 *   `stale-while-revalidate` the grace, `no-store`/`no-cache`/`private` keep it out.
 * - Never stored: responses with `Set-Cookie` or `Vary: *` (or a `Vary` header not in `vary`);
 *   requests with `Authorization` or `Cookie` bypass the cache unless `private` gives an identity.
 * - The key is host + path + sorted query (+ `vary` values, + identity). A response whose handler
 *   read a request header outside the key (`X-Forwarded-Host`, …) is not stored, so such headers
 *   cannot poison an entry.
 * - Stored entries get an `ETag` (the origin's, or a SHA-256 of the body); a matching
 *   `If-None-Match` gets a 304. Every answer says `X-Cache: HIT|MISS|STALE|BYPASS`, `Age`, and
 *   `Server-Timing: cache;desc="<l1|l2|coalesced>"` for answers from the cache, and
 *   `cache;desc="<origin|bypass: why>";dur=<ms>` when the handler ran.
 * - One handler run per cold key and process however many requests wait (`getOrLoad`); within
 *   grace the stale response is served at once and one background refresh runs (kept alive with
 *   `waitUntil` on Workers).
 *
 * @param options.cache the cache holding the responses (required)
 * @param options.ttl freshness when the origin gives none. @default '5m'
 * @param options.grace stale serving past freshness, with a background refresh. @default 0
 * @param options.key the key in place of host + path + sorted query; `null` bypasses
 * @param options.vary request headers that are part of the key. @default []
 * @param options.tags tags of every stored response (plus `c.set('cacheTags', [...])`)
 * @param options.methods methods served from the cache. @default ['GET', 'HEAD']
 * @param options.statuses statuses stored. @default [200, 203, 204, 300, 301, 404, 410]
 * @param options.maxBodyBytes largest body stored. @default 1048576
 * @param options.private the caller's identity, for per-user entries; without it, requests with
 *   Authorization or Cookie bypass the cache
 * @param options.honorNoCache let a request's `Cache-Control: no-cache` refresh the entry. @default false
 * @param options.clock time source. @default systemClock
 * @throws InvalidOptionError (`E_INVALID_OPTION`) for a missing cache or a bad option, when called
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { createCache } from 'tiercache'
 * import { cacheRoute } from 'tiercache/hono'
 *
 * const routes = createCache({ namespace: 'routes' })
 * const app = new Hono()
 * app.use('/api/*', cacheRoute({ cache: routes, ttl: '30s', grace: '5m', vary: ['accept-language'] }))
 * app.get('/api/products/:id', async (c) => {
 *   c.set('cacheTags', [`product:${c.req.param('id')}`])
 *   return c.json(await db.products.find(c.req.param('id')))
 * })
 * app.post('/api/products/:id', async (c) => {
 *   await db.products.update(c.req.param('id'), await c.req.json())
 *   await routes.deleteByTag(`product:${c.req.param('id')}`) // on every instance
 *   return c.body(null, 204)
 * })
 * ```
 */
export function cacheRoute(options: CacheRouteOptions): MiddlewareHandler
/**
 * The same route cache wrapped around one handler, as the route's only handler: Hono then
 * calls it without its middleware chain, and an L1 hit is answered synchronously (no promise),
 * which is what lets a cached route keep up with a static one.
 * @example app.get('/api/products/:id', cacheRoute({ cache, ttl: '30s' }, (c) => c.json(find(c.req.param('id')))))
 */
export function cacheRoute<E extends Env = Env>(options: CacheRouteOptions, handler: Handler<E>): Handler<E>
export function cacheRoute(options: CacheRouteOptions, handler?: Handler): MiddlewareHandler | Handler {
  const o = resolveOptions(options)
  if (handler !== undefined && typeof handler !== 'function') throw invalid(`handler must be a function; got ${describe(handler)}`, 'handler')
  const { cache, clock } = o
  let shared = SHARED.get(cache)
  if (shared === undefined) SHARED.set(cache, (shared = { known: new WeakSet(), refreshing: new Set(), replacing: new Map() }))
  const { known, refreshing, replacing } = shared

  /** Where a stored entry came from: L1 if this process has it as a live object, else a shared tier. */
  const tierOf = (entry: RouteEntry): string => {
    if (known.has(entry)) return 'l1'
    known.add(entry)
    return 'l2'
  }

  /**
   * Answers with a stored entry (or a 304 for a matching If-None-Match), with the headers that
   * earlier middleware set on this request (CORS, request id, …; `upstream`) on top. With `onSent`, the body
   * is a stream that calls it once read to the end or cancelled; returns whether it will.
   */
  function serve(
    c: Context, entry: RouteEntry, label: string, tier: string, now: number, req: Req,
    upstream: Iterable<[string, string]> = upstreamHeaders(c), onSent?: () => void,
  ): boolean {
    // answers from the cache name their tier; when the handler ran, the time it took is added
    const timing = label === 'MISS' ? serverTiming(tier, req.started) : (FROM_CACHE[tier] ?? `cache;desc="${tier}"`)
    const age = String(Math.max(0, Math.floor((now - entry.t) / 1000)))
    const inm = entry.s < 300 ? c.req.raw.headers.get('if-none-match') : null
    const notModified = inm !== null && etagMatches(inm, entry.h.etag)
    // a literal first, then copies: `{ ...entry.h }` followed by new keys costs ~10 µs in V8
    const h: Record<string, string> = { 'x-cache': label, age, 'server-timing': timing }
    const stored = notModified ? headersFor304(entry.h) : entry.h
    for (const name in stored) h[name] = stored[name]!
    let headers: Record<string, string> | Headers = h
    let cookies: string[] | undefined
    for (const [name, value] of upstream) {
      if (name === 'set-cookie') (cookies ??= []).push(value)
      else if (name !== 'content-type') h[name] = value
    }
    if (cookies !== undefined) {
      headers = new Headers(h)
      for (const cookie of cookies) headers.append('set-cookie', cookie)
    }
    c.res = undefined // our headers already include what was there; skip Hono's merge (and its copy of the body)
    if (notModified) {
      c.res = new Response(null, { status: 304, headers })
      return false
    }
    const body = onSent !== undefined && entry.b !== null && !req.head ? signalling(entry.b, onSent) : entry.b
    c.res = new Response(body as BodyInit | null, { status: entry.s, headers })
    return body !== entry.b
  }

  /**
   * Runs the handler for this request: it sees the request without conditional headers and with
   * its header reads recorded; its response is checked, and its body read for the cache (see
   * body.ts). `client`: someone reads the body (not a refresh, not HEAD).
   */
  async function run(c: Context, next: Next, req: Req, client: boolean): Promise<Run> {
    req.started = performance.now()
    // headers earlier middleware set on this request are theirs to set again on each hit, not the entry's
    const upstream = [...upstreamHeaders(c)]
    const watched = watch(c, c.req.raw)
    try {
      await next()
    } finally {
      watched.restore()
    }
    const res = c.res
    const status = res.status
    const headers = res.headers
    const directives = parseCacheControl(headers.get('cache-control'))
    const refused = refuse(c, res, directives, req)
    if (refused !== undefined) return { refused: refused.reason, status, headers, outcome: Promise.resolve(refused), upstream }
    const ttl = directives.sMaxAge ?? directives.maxAge ?? o.ttl
    const grace = directives.mustRevalidate ? 0 : directives.staleWhileRevalidate ?? o.grace
    let captured: Captured
    try {
      captured = await capture(res.body, o.maxBodyBytes, client)
    } catch {
      const outcome: Outcome = { reason: 'body failed', error: true }
      return { refused: outcome.reason, status, headers, outcome: Promise.resolve(outcome), upstream }
    }
    const outcome = captured.complete.then(async (bytes): Promise<Outcome> => {
      if (bytes === 'too-large') return { reason: `body over ${o.maxBodyBytes} bytes`, error: false }
      if (bytes === 'failed') return { reason: 'body failed', error: true }
      const unkeyed = unkeyedRead(watched.reads, watched.headers, req)
      if (unkeyed !== undefined) return { reason: `read unkeyed header ${unkeyed}`, error: false }
      const tags = await tagsOf(c)
      const now = clock.now()
      const h = storedHeaders(headers, upstream)
      if (h.etag === undefined && bytes !== null) h.etag = await strongEtag(bytes)
      let b: RouteEntry['b'] = bytes
      if (bytes !== null && isTextual(h['content-type'])) b = utf8(bytes) ?? bytes
      const entry: RouteEntry = { v: 1, s: status, h, b, t: now, f: now + ttl, g: now + ttl + grace }
      known.add(entry)
      return { entry, life: ttl + grace, tags }
    })
    return { status, headers, captured, outcome, upstream }
  }

  /** Why a response may not be stored (checked before its body is read), or undefined. */
  function refuse(c: Context, res: Response, directives: Directives, req: Req): { reason: string; error: boolean } | undefined {
    if (c.error !== undefined) return { reason: 'handler error', error: true }
    const status = res.status
    if (!o.statuses.has(status)) return { reason: `status ${status}`, error: status >= 500 }
    const headers = res.headers
    if (headers.has('set-cookie')) return { reason: 'set-cookie', error: false }
    if ((headers.get('content-type') ?? '').toLowerCase().startsWith('text/event-stream')) return { reason: 'event stream', error: false }
    if (directives.noStore) return { reason: 'no-store', error: false }
    if (directives.noCache) return { reason: 'no-cache', error: false }
    if (directives.private && !req.private) return { reason: 'private', error: false }
    for (const name of varyNames(headers.get('vary'))) {
      if (name === '*') return { reason: 'vary *', error: false }
      if (!o.vary.includes(name) && !(req.private && IDENTITY_HEADERS.includes(name))) return { reason: `vary ${name} not keyed`, error: false }
    }
    const ttl = directives.sMaxAge ?? directives.maxAge ?? o.ttl
    const grace = directives.mustRevalidate ? 0 : directives.staleWhileRevalidate ?? o.grace
    if (ttl + grace <= 0) return { reason: 'max-age=0', error: false }
    return undefined
  }

  /** The first request header outside the key that the handler read and the request carried. */
  function unkeyedRead(reads: ReadonlySet<string>, headers: Headers, req: Req): string | undefined {
    const allowed = (name: string): boolean => name === 'host' || o.vary.includes(name) || (req.private && IDENTITY_HEADERS.includes(name))
    if (reads.has('*')) {
      for (const [name] of headers) if (!allowed(name)) return name
      return undefined
    }
    for (const name of reads) if (!allowed(name) && headers.has(name)) return name
    return undefined
  }

  async function tagsOf(c: Context): Promise<readonly string[]> {
    const own = typeof o.tags === 'function' ? await o.tags(c) : o.tags
    const set = c.get('cacheTags')
    const tags = set === undefined ? checkTags(own, 'tags') : [...checkTags(own, 'tags'), ...checkTags(set, "c.set('cacheTags')")]
    return tags.length > 1 ? [...new Set(tags)] : tags
  }

  /** Answers with the handler's own response, marked with `label`. */
  function answer(c: Context, done: Run, label: string, desc: string, req: Req): void {
    const timing = serverTiming(desc, req.started)
    if (done.captured === undefined) {
      c.header('x-cache', label)
      c.header('server-timing', timing, { append: true })
      return
    }
    const headers = new Headers(done.headers)
    headers.set('x-cache', label)
    headers.append('server-timing', timing)
    c.res = undefined
    c.res = new Response(done.captured.body as BodyInit | null, { status: done.status, headers })
  }

  async function store(key: string, outcome: Outcome): Promise<void> {
    if (outcome.entry !== undefined) await cache.set(key, outcome.entry, { ttl: outcome.life, tags: outcome.tags })
  }

  /**
   * Runs this request's handler without joining a flight (after a hit-for-pass marker, or for
   * `Cache-Control: no-cache`) and stores the response if it may be. Resolves to the entry
   * stored, if one was (a streamed one is stored later).
   */
  async function direct(c: Context, next: Next, req: Req): Promise<RouteEntry | undefined> {
    const done = await run(c, next, req, !req.head)
    if (done.refused !== undefined) return void answer(c, done, 'BYPASS', `bypass: ${done.refused}`, req)
    if (done.captured!.streaming) {
      answer(c, done, 'MISS', 'origin', req)
      keepAlive(c, done.outcome.then((outcome) => store(req.key, outcome)).catch(noop))
      return undefined
    }
    const outcome = await done.outcome
    if (outcome.entry === undefined) return void answer(c, done, 'BYPASS', `bypass: ${outcome.reason}`, req)
    await store(req.key, outcome)
    serve(c, outcome.entry, 'MISS', 'origin', clock.now(), req, done.upstream)
    return outcome.entry
  }

  /**
   * An entry past its grace that the cache still holds (the engine's ttl jitter can keep one a
   * little longer), or a stale one without a body to watch: the first request replaces it, the
   * ones arriving meanwhile wait for its entry (getOrLoad cannot: for the engine it is fresh).
   */
  async function replace(c: Context, next: Next, req: Req): Promise<void> {
    const pending = replacing.get(req.key)
    if (pending !== undefined) {
      const entry = await pending
      const now = clock.now()
      if (entry !== undefined && now < entry.f) return void serve(c, entry, 'HIT', 'coalesced', now, req)
      return void (await direct(c, next, req))
    }
    let settle!: (entry: RouteEntry | undefined) => void
    replacing.set(req.key, new Promise((resolve) => (settle = resolve)))
    try {
      settle(await direct(c, next, req))
    } finally {
      settle(undefined)
      replacing.delete(req.key)
    }
  }

  /** A cold key: one handler run per key and process (getOrLoad), the others wait for its entry. */
  async function load(c: Context, next: Next, req: Req): Promise<void> {
    const { key } = req
    let own: Promise<Run> | undefined
    let early!: () => void
    const answerable = new Promise<undefined>((resolve) => (early = () => resolve(undefined)))
    const loadOptions: LoadOptions = { allowStale: false, ttl: o.ttl + o.grace, nullTtl: o.passTtl }
    const flight = cache.getOrLoad<RouteEntry | null>(key, async (_key, ctx) => {
      own = run(c, next, req, !req.head)
      const done = await own
      if (done.refused !== undefined || done.captured!.streaming) early() // the client need not wait for the cache
      const outcome = await done.outcome
      if (outcome.entry === undefined) {
        if (outcome.error) throw new OriginError(outcome.reason)
        return null // hit-for-pass
      }
      // the entry's own lifetime (the origin's Cache-Control) and tags
      ctx.setTtl(outcome.life)
      ctx.setTags(outcome.tags)
      return outcome.entry
    }, loadOptions)
    const settled = flight.then((value) => ({ value }), (error: unknown) => ({ error }))
    const first = await Promise.race([settled, answerable])
    if (own !== undefined) {
      // this request's handler ran: it answers with its own response
      const done = await own
      if (done.refused !== undefined) {
        keepAlive(c, settled)
        return answer(c, done, 'BYPASS', `bypass: ${done.refused}`, req)
      }
      if (done.captured!.streaming) {
        keepAlive(c, settled)
        return answer(c, done, 'MISS', 'origin', req)
      }
      const outcome = await done.outcome
      const result = first ?? (await settled)
      if ('error' in result && !(result.error instanceof OriginError)) throw result.error
      if (outcome.entry === undefined) return answer(c, done, 'BYPASS', `bypass: ${outcome.reason}`, req)
      return void serve(c, outcome.entry, 'MISS', 'origin', clock.now(), req, done.upstream)
    }
    const result = first!
    // the leader's response could not be shared: run this request's own handler
    if ('error' in result || result.value === null) return void (await direct(c, next, req))
    const entry = result.value
    if (entry.v !== 1) return replace(c, next, req)
    const now = clock.now()
    const tier = known.has(entry) ? 'coalesced' : tierOf(entry)
    if (now < entry.f) return void serve(c, entry, 'HIT', tier, now, req)
    if (now < entry.g) return stale(c, next, entry, now, req)
    return replace(c, next, req)
  }

  /** Within grace: the stale entry now, and one background refresh once it has been sent. */
  function stale(c: Context, next: Next, entry: RouteEntry, now: number, req: Req): void | Promise<void> {
    const tier = tierOf(entry)
    if (refreshing.has(req.key)) return void serve(c, entry, 'STALE', tier, now, req)
    const outgoing = nodeOutgoing(c)
    // bodiless (204): nothing to watch being sent elsewhere than on Node; reload it now
    if (outgoing === undefined && entry.b === null) return replace(c, next, req)
    let signal!: (sent: boolean) => void
    const sent = new Promise<boolean>((resolve) => (signal = resolve))
    const timer = setTimeout(() => signal(false), HANDOFF_TIMEOUT) as { unref?: () => void }
    timer.unref?.()
    if (outgoing !== undefined) outgoing.once('close', () => signal(true))
    const watching = serve(c, entry, 'STALE', tier, now, req, upstreamHeaders(c), outgoing === undefined ? () => signal(true) : undefined)
    if (outgoing === undefined && !watching) signal(false) // a 304 or HEAD: refreshed by a later GET
    refreshing.add(req.key)
    const task = sent
      .then(async (ok) => {
        clearTimeout(timer as ReturnType<typeof setTimeout>)
        if (!ok) return
        // the stale response has left: let the adapter finish with it, then reuse this request's context
        await new Promise((resolve) => setTimeout(resolve, 0))
        c.res = undefined
        c.finalized = false
        c.error = undefined
        const done = await run(c, next, req, false)
        const outcome = await done.outcome
        if (outcome.entry !== undefined) await store(req.key, outcome)
        else if (!outcome.error) await cache.delete(req.key) // the origin no longer lets it be cached
      })
      .catch(noop)
      .finally(() => refreshing.delete(req.key))
    keepAlive(c, task)
  }

  /** The key of a request: its base (the URL, or what the key option returned) and the `vary` values. */
  const routeKey = (base: string, headers: Headers): string => (o.vary.length === 0 ? `route:${base}` : `route:${base}${varyKey(headers, o.vary)}`)

  /**
   * A fresh L1 hit answered without a promise, for requests keyed by the URL (and `vary`) alone,
   * when the engine can answer synchronously (`cache.peek`). Otherwise the key when it got as far
   * as making one (the full path then uses it), or `undefined`.
   */
  const quick = o.identify !== undefined || o.key !== undefined || typeof cache.peek !== 'function'
    ? undefined
    : (c: Context): Response | string | undefined => {
        if (!o.methods.has(c.req.method)) return undefined
        const headers = c.req.raw.headers
        if (headers.has('authorization') || headers.has('cookie') || (o.honorNoCache && requestWantsFresh(headers))) return undefined
        const key = routeKey(urlKey(c.req.url), headers)
        if (key.length > MAX_KEY) return key
        let now = 0
        const found = cache.peek!<RouteEntry | null>(key, (entry) => entry !== null && entry.v === 1 && (now = clock.now()) < entry.f)
        if (found === undefined || found === null) return key
        serve(c, found, 'HIT', tierOf(found), now, { key, private: false, head: c.req.method === 'HEAD', started: 0 })
        return c.res
      }

  /** The full path; `known` is the key `quick` already made for this request. */
  async function handle(c: Context, next: Next, known: string | undefined): Promise<void> {
    const method = c.req.method
    if (!o.methods.has(method)) return next()
    const headers = c.req.raw.headers
    let identity: string | null | undefined
    if (o.identify !== undefined) identity = await o.identify(c)
    if (identity === undefined || identity === null || identity === '') {
      identity = undefined
      if (headers.has('authorization')) return bypass(c, next, 'authorization')
      if (headers.has('cookie')) return bypass(c, next, 'cookie')
    }
    let key = known
    if (key === undefined) {
      let base: string | null | undefined
      if (o.key === undefined) base = urlKey(c.req.url)
      else {
        base = await o.key(c)
        if (base === undefined || base === null || base === '') return bypass(c, next, 'key')
        if (typeof base !== 'string') throw new InvalidOptionError(`cacheRoute: key must return a string, null or undefined; got ${describe(base)}`, { option: 'key' })
      }
      key = routeKey(base, headers)
    }
    if (identity !== undefined) key += `|u:${await sha256(identity)}`
    if (key.length > MAX_KEY) key = `route:#${await sha256(key)}`
    const req: Req = { key, private: identity !== undefined, head: method === 'HEAD', started: 0 }
    if (o.honorNoCache && requestWantsFresh(headers)) return void (await direct(c, next, req))
    // a get joins a handler run in flight for the key (and fails with it: then run our own)
    let found: RouteEntry | null | undefined
    try {
      found = await cache.get<RouteEntry | null>(key, READ)
    } catch (error) {
      if (error instanceof OriginError) return void (await direct(c, next, req))
      throw error
    }
    if (found === undefined) return load(c, next, req)
    // a hit-for-pass marker: the handler runs without waiting on anyone
    if (found === null) return void (await direct(c, next, req))
    if (found.v === 1) {
      const now = clock.now()
      if (now < found.f) return void serve(c, found, 'HIT', tierOf(found), now, req)
      if (now < found.g) return stale(c, next, found, now, req)
    }
    // past its grace (kept a little longer by the engine's ttl jitter), or a foreign value
    return replace(c, next, req)
  }
  if (handler === undefined) {
    return async function cacheRoute(c: Context, next: Next): Promise<void> {
      const quickly = quick?.(c)
      if (quickly instanceof Response) return
      return handle(c, next, quickly)
    }
  }
  return (c: Context, next: Next) => {
    const quickly = quick?.(c)
    if (quickly instanceof Response) return quickly
    // the handler as the full path's next: what it returns becomes the response, as in Hono
    return handle(c, async () => {
      const res = await handler(c, next)
      if (res instanceof Response) c.res = res
    }, quickly).then(() => c.res)
  }
}

/** Runs the handler with the cache out of the way, and says so. */
async function bypass(c: Context, next: Next, reason: string): Promise<void> {
  const started = performance.now()
  await next()
  c.header('x-cache', 'BYPASS')
  c.header('server-timing', serverTiming(`bypass: ${reason}`, started), { append: true })
}

const NO_HEADERS: readonly [string, string][] = []
/** Server-Timing of answers from the cache, by tier (built once: this is the hot path). */
const FROM_CACHE: Record<string, string> = { l1: 'cache;desc="l1"', l2: 'cache;desc="l2"', coalesced: 'cache;desc="coalesced"' }

/**
 * The headers earlier middleware set on this request. Reading `c.res` makes Hono build a
 * response to hold them, so it is skipped when no handler ran before this one (the common
 * case on a hot path: `app.get(path, cacheRoute(…), handler)`).
 */
function upstreamHeaders(c: Context): Iterable<[string, string]> {
  return c.req.routeIndex === 0 ? NO_HEADERS : c.res.headers
}

function serverTiming(desc: string, started: number): string {
  return `cache;desc="${desc}";dur=${Math.round((performance.now() - started) * 100) / 100}`
}

/**
 * Gives the handler a request without conditional headers (the cache answers those) whose header
 * reads are recorded, through `c.req.raw` (and `c.req.header` where a runtime's Request does not
 * take an own `headers` property).
 */
function watch(c: Context, raw: Request): { reads: Set<string>; headers: Headers; restore(): void } {
  const headers = new Headers(raw.headers)
  for (const name of CONDITIONAL) headers.delete(name)
  const reads = new Set<string>()
  const watched = new Proxy(headers, {
    get(target, prop) {
      if (prop === 'get' || prop === 'has') {
        return (name: string) => {
          reads.add(String(name).toLowerCase())
          return prop === 'get' ? target.get(name) : target.has(name)
        }
      }
      if (prop === 'forEach' || prop === 'entries' || prop === 'keys' || prop === 'values' || prop === Symbol.iterator || prop === 'getSetCookie') reads.add('*')
      const value: unknown = Reflect.get(target, prop, target)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
  let inner: Request = raw
  try {
    inner = new Request(raw, { headers })
    Object.defineProperty(inner, 'headers', { value: watched, configurable: true })
  } catch {
    // a runtime whose Request refuses either: c.req.header below still sees the watched headers
  }
  const req = c.req as { raw: Request; header?: unknown }
  const viaRaw = inner.headers === watched
  req.raw = inner
  if (!viaRaw) {
    req.header = (name?: string) => {
      if (name !== undefined) return watched.get(name) ?? undefined
      const all: Record<string, string> = Object.create(null) as Record<string, string>
      watched.forEach((value, key) => (all[key] = value))
      return all
    }
  }
  return {
    reads,
    headers,
    restore() {
      req.raw = raw
      if (!viaRaw) delete req.header
    },
  }
}

/** A one-chunk stream of `body` that calls `done` once read to the end (or cancelled). */
function signalling(body: string | Uint8Array, done: () => void): ReadableStream<Uint8Array> {
  let sent = false
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true
        controller.enqueue(typeof body === 'string' ? encoder.encode(body) : body)
      } else {
        controller.close()
        done()
      }
    },
    cancel() {
      done()
    },
  }, { highWaterMark: 0 })
}

const encoder = new TextEncoder()

/** The Node response of `@hono/node-server` (`c.env.outgoing`), whose `close` says the response has left. */
function nodeOutgoing(c: Context): { once(event: 'close', listener: () => void): unknown } | undefined {
  const env = c.env as { outgoing?: { once?: unknown } } | undefined
  const outgoing = env?.outgoing
  return outgoing !== undefined && typeof outgoing.once === 'function' ? (outgoing as { once(event: 'close', listener: () => void): unknown }) : undefined
}

/** `waitUntil` where the platform has one (Workers); elsewhere the process outlives the promise anyway. */
function keepAlive(c: Context, promise: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(promise)
  } catch {
    // no ExecutionContext (Node, Bun, Deno)
  }
}

const noop = (): void => undefined

// ---------------------------------------------------------------- options

interface Resolved {
  readonly cache: TierCache
  readonly ttl: number
  readonly grace: number
  readonly passTtl: number
  readonly key: ((c: Context) => MaybePromise<string | null | undefined>) | undefined
  readonly vary: readonly string[]
  readonly tags: readonly string[] | ((c: Context) => MaybePromise<readonly string[]>)
  readonly methods: ReadonlySet<string>
  readonly statuses: ReadonlySet<number>
  readonly maxBodyBytes: number
  readonly identify: ((c: Context) => MaybePromise<string | null | undefined>) | undefined
  readonly honorNoCache: boolean
  readonly clock: Clock
}

function invalid(message: string, option: string): InvalidOptionError {
  return new InvalidOptionError(`cacheRoute: ${message}`, { option })
}

/** Runs a check helper of the core, naming cacheRoute in its error. */
function checked<T>(check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (error instanceof InvalidOptionError) throw invalid(error.message.replace(/^\[tiercache\] /, ''), error.option ?? 'options')
    throw error
  }
}

function resolveOptions(options: CacheRouteOptions): Resolved {
  if (options === null || typeof options !== 'object') throw invalid(`needs an options object with at least a cache; got ${describe(options)}`, 'options')
  checked(() => checkKnown(options, KNOWN_OPTIONS, 'cacheRoute'))
  const cache = options.cache as Partial<TierCache> | undefined
  if (cache === null || typeof cache !== 'object' || typeof cache.get !== 'function' || typeof cache.getOrLoad !== 'function' || typeof cache.set !== 'function') {
    throw invalid(`cache must be a cache from createCache(); got ${describe(cache)}`, 'cache')
  }
  const ttl = checked(() => checkTtl(options.ttl, 'ttl', 300_000))
  const grace = checked(() => checkDuration(options.grace, 'grace', 0))
  const key = checked(() => checkFunction<Resolved['key']>(options.key, 'key'))
  const identify = checked(() => checkFunction<Resolved['identify']>(options.private, 'private'))
  const vary = resolveVary(options.vary)
  let tags: Resolved['tags'] = []
  if (typeof options.tags === 'function') tags = options.tags
  else if (options.tags !== undefined) tags = checked(() => checkTags(options.tags, 'tags'))
  const methods = resolveMethods(options.methods)
  const statuses = resolveStatuses(options.statuses)
  const maxBodyBytes = checked(() => checkPositive(options.maxBodyBytes, 'maxBodyBytes', DEFAULT_MAX_BODY, true))
  const honorNoCache = checked(() => checkBoolean(options.honorNoCache, 'honorNoCache', false))
  const clock = options.clock ?? systemClock
  if (typeof clock?.now !== 'function') throw invalid('clock must have a now() method', 'clock')
  return { cache: cache as TierCache, ttl, grace, passTtl: Math.min(ttl, PASS_TTL), key, vary, tags, methods, statuses, maxBodyBytes, identify, honorNoCache, clock }
}

function resolveVary(value: unknown): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || !value.every((name) => typeof name === 'string' && HEADER_NAME.test(name))) {
    throw invalid(`vary must be an array of request header names; got ${describe(value)}`, 'vary')
  }
  const names = [...new Set(value.map((name: string) => name.toLowerCase()))].sort()
  const identity = names.find((name) => IDENTITY_HEADERS.includes(name))
  if (identity !== undefined) throw invalid(`vary must not list '${identity}' (it would put credentials in keys); use the private option`, 'vary')
  return names
}

function resolveMethods(value: unknown): Set<string> {
  if (value === undefined) return new Set(['GET', 'HEAD'])
  if (!Array.isArray(value) || value.length === 0 || !value.every((m) => m === 'GET' || m === 'HEAD')) {
    throw invalid(`methods must be a non-empty array of 'GET' and 'HEAD' (other methods are never cached); got ${describe(value)}`, 'methods')
  }
  return new Set(value as string[])
}

function resolveStatuses(value: unknown): Set<number> {
  if (value === undefined) return new Set(DEFAULT_STATUSES)
  if (!Array.isArray(value) || value.length === 0 || !value.every((s) => Number.isInteger(s) && s >= 200 && s <= 599 && s !== 206 && s !== 304)) {
    throw invalid(`statuses must be a non-empty array of status codes 200–599 (not 206 or 304); got ${describe(value)}`, 'statuses')
  }
  return new Set(value as number[])
}
