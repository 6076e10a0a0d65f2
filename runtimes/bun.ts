/**
 * The Bun entry: `tiercache/bun`, and what `tiercache` resolves to on Bun (the `bun` export
 * condition). It supplies Bun's environment (`Bun.env`) and default tiers; the cache itself
 * is the runtime-agnostic core.
 * @module
 */
import { createCacheWith, type CacheOptions, type TierCache } from '../src/index.js'
import { lru } from '../adapters/lru.js'
import { longLivedTimers } from './time.js'
import { l2FromEnv, readObject, type RuntimeEntry } from './env.js'
import { lazyTiers } from './lazy.js'

export * from '../src/index.js'
export type { RuntimeEntry } from './env.js'

/**
 * Which runtime entry this is: `'bun'`. `import { runtime } from 'tiercache'` tells which
 * entry the export conditions picked (the `bun` condition).
 * @example
 * ```ts
 * import { runtime } from 'tiercache'
 * console.log(runtime) // 'bun' on Bun
 * ```
 */
export const runtime: RuntimeEntry = 'bun'

declare const Bun: { env: Record<string, string | undefined> }

const tiers = lazyTiers('bun')
/** One clock for every cache of this entry; each cache's L2 time limits share one timer. */
const time = longLivedTimers()

/**
 * Creates a cache on Bun. Only `namespace` is required.
 *
 * Defaults, for what you leave undefined (`false` goes without a tier):
 * - `l1`: `lru({ max: 10_000 })`
 * - `l2`, read from `Bun.env` when the cache is created: `REDIS_URL` → Redis over TCP
 *   (node-redis; install `redis`), else `UPSTASH_REDIS_REST_URL` + `UPSTASH_REDIS_REST_TOKEN`
 *   (or `KV_REST_API_URL` + `KV_REST_API_TOKEN`) → Redis over HTTP (install `@upstash/redis`),
 *   else an in-process `memoryStore()`. A malformed variable throws `InvalidOptionError`.
 * - `ttl: Strategy.ShortTerm` (5 min), `nullTtl: '30s'`, `jitter: 0.1`, `prefix: 'tiercache'`.
 * - `clock`: one `coarseClock()` shared by this entry's caches (one `Date.now()` per event-loop task, or per 64 readings).
 *
 * @example
 * ```ts
 * // REDIS_URL=redis://127.0.0.1:6379 bun server.ts
 * import { createCache } from 'tiercache' // or 'tiercache/bun'
 * const users = createCache({ namespace: 'user', ttl: '10m' })
 * Bun.serve({ fetch: async (req) => Response.json(await users.getOrLoad('42', () => db.findUser(42))) })
 * ```
 */
export function createCache(options: CacheOptions): TierCache {
  return createCacheWith(options, { l1: () => lru(), l2: () => l2FromEnv(readObject(Bun.env), tiers), ...time })
}
