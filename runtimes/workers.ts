/**
 * The Cloudflare Workers entry: `tiercache/workers`, and what `tiercache` resolves to in
 * workerd (the `workerd` export condition). It supplies the Worker's `env`, `waitUntil` and
 * default tiers; the cache itself is the runtime-agnostic core.
 *
 * On Workers the default L2 is Redis over HTTP (`@upstash/redis`; Upstash, or the tiercache
 * REST bridge in front of any Redis). A TCP connection cannot outlive the request that opened
 * it, so Redis over TCP is never a module-scope default: open it per request (see
 * docs/runtimes.md). Nothing here imports node-redis.
 * @module
 */
import * as cloudflare from 'cloudflare:workers'
import { createCacheWith, type CacheOptions, type TierCache } from '../src/index.js'
import { InvalidOptionError } from '../src/errors.js'
import { lru } from '../adapters/lru.js'
import { upstash } from '../adapters/upstash.js'
import { l2FromEnv, readObject, type EnvTiers, type RuntimeEntry } from './env.js'

export * from '../src/index.js'
export type { RuntimeEntry } from './env.js'

/**
 * Which runtime entry this is: `'workers'`. `import { runtime } from 'tiercache'` tells which
 * entry the export conditions picked (the `workerd` condition).
 * @example
 * ```ts
 * import { runtime } from 'tiercache'
 * console.log(runtime) // 'workers' in workerd
 * ```
 */
export const runtime: RuntimeEntry = 'workers'

/** A Worker's bindings (`env`), as the fetch handler receives them; tiercache reads its string variables. */
export type WorkersEnv = object

/** The part of a Worker's `ExecutionContext` (`ctx`) that tiercache uses. */
export interface WorkersContext {
  waitUntil(promise: Promise<unknown>): void
}

const tiers: EnvTiers = {
  runtime: 'workers',
  prefer: 'http',
  http: (url, token) => upstash({ url, token }),
  noTcpReason: 'a Worker cannot use a TCP connection beyond the request that opened it (open one per request, see docs/runtimes.md)',
}

/** The context of the most recent request seen by fromEnv: the fallback for waitUntil. */
let latest: WorkersContext | undefined

/**
 * Hands background work (promotions, refreshes, invalidation publishes) to the runtime so the
 * isolate is not frozen before it settles. workerd's own `waitUntil` attaches the promise to
 * the request that is running; where it is missing or fails, the context of the latest
 * request bound with {@link fromEnv} takes it.
 */
function waitUntil(promise: Promise<unknown>): void {
  try {
    if (typeof cloudflare.waitUntil === 'function') return cloudflare.waitUntil(promise)
  } catch {
    // outside a request, or an older workerd: fall through
  }
  try {
    latest?.waitUntil(promise)
  } catch {
    // that request is over; the promise still runs while the isolate lives
  }
}

/**
 * Creates a cache in a Worker, usually at module scope so that its L1 is shared by every
 * request the isolate serves. Only `namespace` is required.
 *
 * Defaults, for what you leave undefined (`false` goes without a tier):
 * - `l1`: `lru({ max: 10_000 })`, per isolate.
 * - `l2`, from the Worker's bindings (`env` of `cloudflare:workers`) when the cache is
 *   created: `UPSTASH_REDIS_REST_URL` + `UPSTASH_REDIS_REST_TOKEN` (or `KV_REST_API_URL` +
 *   `KV_REST_API_TOKEN`) → Redis over HTTP; neither → an in-process `memoryStore()` (per
 *   isolate). `REDIS_URL` alone throws `InvalidOptionError`: TCP is per request only.
 * - `waitUntil`: workerd's, so background work is tied to the request that started it.
 * - `ttl: Strategy.ShortTerm` (5 min), `nullTtl: '30s'`, `jitter: 0.1`, `prefix: 'tiercache'`.
 *
 * @example
 * ```ts
 * import { createCache } from 'tiercache' // or 'tiercache/workers'
 * const products = createCache({ namespace: 'product', ttl: '1m' }) // module scope: one per isolate
 * export default {
 *   async fetch(request: Request): Promise<Response> {
 *     return Response.json(await products.getOrLoad('42', () => loadProduct(42)))
 *   },
 * }
 * ```
 */
export function createCache(options: CacheOptions): TierCache {
  return createCacheWith(options, { l1: () => lru(), l2: () => l2FromEnv(readObject(cloudflare.env), tiers), waitUntil })
}

const isolate = new Map<string, TierCache>()

/**
 * The cache for `options.namespace` in this isolate, created on the first call from the
 * handler's `env` and `ctx`, and returned by later calls (from any request) with its L1 and
 * in-flight loads: call it in every request. The options and `env` of the first call for a
 * namespace (and prefix) are the ones used; `close()` forgets the cache, so the next call
 * creates a new one.
 *
 * Defaults as in {@link createCache}, read from `env` instead of `cloudflare:workers`;
 * background work goes to workerd's `waitUntil`, or else to the latest `ctx.waitUntil`.
 * A non-object `env`, a `ctx` without `waitUntil`, or malformed variables throw
 * `InvalidOptionError`.
 *
 * @example
 * ```ts
 * import { fromEnv } from 'tiercache/workers'
 * export default {
 *   async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
 *     const products = fromEnv(env, ctx, { namespace: 'product', ttl: '1m' })
 *     return Response.json(await products.getOrLoad('42', () => loadProduct(42)))
 *   },
 * }
 * ```
 */
export function fromEnv(env: WorkersEnv, ctx: WorkersContext, options: CacheOptions): TierCache {
  if (env === null || typeof env !== 'object') {
    throw new InvalidOptionError(`fromEnv(env, ctx, options): env must be the Worker's bindings object; got ${env === null ? 'null' : typeof env}`, { option: 'env' })
  }
  if (ctx === null || typeof ctx !== 'object' || typeof ctx.waitUntil !== 'function') {
    throw new InvalidOptionError("fromEnv(env, ctx, options): ctx must be the Worker's ExecutionContext (with waitUntil)", { option: 'ctx' })
  }
  latest = ctx
  const id = `${options?.prefix ?? 'tiercache'}:${options?.namespace}`
  const existing = isolate.get(id)
  if (existing !== undefined) return existing
  const cache = createCacheWith(options, { l1: () => lru(), l2: () => l2FromEnv(readObject(env as Record<string, unknown>), tiers), waitUntil })
  isolate.set(id, cache)
  const close = cache.close.bind(cache)
  cache.close = async () => {
    if (isolate.get(id) === cache) isolate.delete(id)
    await close()
  }
  return cache
}
