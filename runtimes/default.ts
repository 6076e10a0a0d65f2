/**
 * The default entry: what `import { createCache } from 'tiercache'` resolves to where no
 * runtime export condition (`workerd`, `deno`, `bun`, `node`) matches. The core with in-process
 * defaults and no environment. Leave `l1` undefined for an `lru()` (10 000 entries) and `l2` undefined for an
 * embedded `memoryStore()`; pass `false` to go without either.
 * @module
 */
import { createCacheWith, type CacheOptions, type TierCache } from '../src/index.js'
import { lru } from '../adapters/lru.js'
import { longLivedTimers } from './time.js'
import { memoryStore } from '../adapters/memory.js'
import type { RuntimeEntry } from './env.js'

export * from '../src/index.js'
export type { RuntimeEntry } from './env.js'

/**
 * Which runtime entry this is: `'default'`. `import { runtime } from 'tiercache'` tells which
 * entry the export conditions picked (no runtime condition matched).
 * @example
 * ```ts
 * import { runtime } from 'tiercache'
 * console.log(runtime) // 'default' where no runtime condition matched
 * ```
 */
export const runtime: RuntimeEntry = 'default'

/** One clock for every cache of this entry; each cache's L2 time limits share one timer. */
const time = longLivedTimers()

/**
 * Creates a cache. Only `namespace` is required.
 *
 * Defaults: `l1: lru({ max: 10_000 })`, `l2: memoryStore()`, `ttl: Strategy.ShortTerm` (5 min),
 * `nullTtl: '30s'`, `jitter: 0.1`, `prefix: 'tiercache'`, `clock`: one shared `coarseClock()`.
 *
 * @example
 * ```ts
 * import { createCache, Strategy } from 'tiercache'
 * import { redis } from 'tiercache/redis'
 * const users = createCache({ namespace: 'user', l2: redis({ url: process.env.REDIS_URL }), ttl: Strategy.MediumTerm })
 * const user = await users.getOrLoad('42', () => db.findUser(42))
 * ```
 */
export function createCache(options: CacheOptions): TierCache {
  return createCacheWith(options, { l1: () => lru(), l2: () => memoryStore(), ...time })
}
