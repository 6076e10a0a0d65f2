/**
 * The Node entry: `tiercache/node`, and what `tiercache` resolves to on Node (the `node`
 * export condition). It supplies Node's environment (`process.env`) and default tiers; the
 * cache itself is the runtime-agnostic core.
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
 * Which runtime entry this is: `'node'`. `import { runtime } from 'tiercache'` tells which
 * entry the export conditions picked (the `node` condition).
 * @example
 * ```ts
 * import { runtime } from 'tiercache'
 * console.log(runtime) // 'node' on Node
 * ```
 */
export const runtime: RuntimeEntry = 'node'

const tiers = lazyTiers('node')
/** One clock for every cache of this entry; each cache's L2 time limits share one timer. */
const time = longLivedTimers()

/**
 * Creates a cache on Node. Only `namespace` is required.
 *
 * Defaults, for what you leave undefined (`false` goes without a tier):
 * - `l1`: `lru({ max: 10_000 })`
 * - `l2`, read from `process.env` when the cache is created: `REDIS_URL` → Redis over TCP
 *   (node-redis; install `redis`), else `UPSTASH_REDIS_REST_URL` + `UPSTASH_REDIS_REST_TOKEN`
 *   (or `KV_REST_API_URL` + `KV_REST_API_TOKEN`) → Redis over HTTP (install `@upstash/redis`),
 *   else an in-process `memoryStore()`. A malformed variable throws `InvalidOptionError`.
 * - `ttl: Strategy.ShortTerm` (5 min), `nullTtl: '30s'`, `jitter: 0.1`, `prefix: 'tiercache'`.
 * - `clock`: one `coarseClock()` shared by this entry's caches (one `Date.now()` per event-loop task, or per 64 readings).
 *
 * @example
 * ```ts
 * // REDIS_URL=redis://127.0.0.1:6379 node app.js
 * import { createCache } from 'tiercache' // or 'tiercache/node'
 * const users = createCache({ namespace: 'user', ttl: '10m' })
 * const user = await users.getOrLoad('42', () => db.findUser(42))
 * ```
 */
export function createCache(options: CacheOptions): TierCache {
  return createCacheWith(options, { l1: () => lru(), l2: () => l2FromEnv(readObject(process.env), tiers), ...time })
}
