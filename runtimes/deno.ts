/**
 * The Deno entry: `tiercache/deno`, and what `tiercache` resolves to on Deno (the `deno`
 * export condition). It supplies Deno's environment (`Deno.env`) and default tiers; the cache
 * itself is the runtime-agnostic core.
 * @module
 */
import { createCacheWith, type CacheOptions, type TierCache } from '../src/index.js'
import { lru } from '../adapters/lru.js'
import { longLivedTimers } from './time.js'
import { l2FromEnv, type EnvReader, type RuntimeEntry } from './env.js'
import { lazyTiers } from './lazy.js'

export * from '../src/index.js'
export type { RuntimeEntry } from './env.js'

/**
 * Which runtime entry this is: `'deno'`. `import { runtime } from 'tiercache'` tells which
 * entry the export conditions picked (the `deno` condition).
 * @example
 * ```ts
 * import { runtime } from 'tiercache'
 * console.log(runtime) // 'deno' on Deno
 * ```
 */
export const runtime: RuntimeEntry = 'deno'

declare const Deno: {
  env: { get(name: string): string | undefined }
  permissions: { querySync?(descriptor: { name: 'env'; variable: string }): { state: string } }
  unrefTimer(id: number): void
}

const tiers = lazyTiers('deno')
/** One clock for every cache of this entry; each cache's L2 time limits share one timer (Deno's timers are numbers, unref'd with Deno.unrefTimer). */
const time = longLivedTimers((timer) => Deno.unrefTimer(timer as unknown as number))

/** Reads a variable only where `--allow-env` grants it, so creating a cache never prompts or throws. */
const readDenoEnv: EnvReader = (name) => {
  const state = Deno.permissions.querySync?.({ name: 'env', variable: name }).state ?? 'granted'
  return state === 'granted' ? Deno.env.get(name) : undefined
}

/**
 * Creates a cache on Deno. Only `namespace` is required.
 *
 * Defaults, for what you leave undefined (`false` goes without a tier):
 * - `l1`: `lru({ max: 10_000 })`
 * - `l2`, read from `Deno.env` when the cache is created (variables `--allow-env` does not
 *   grant count as unset): `REDIS_URL` → Redis over TCP (npm `redis`), else
 *   `UPSTASH_REDIS_REST_URL` + `UPSTASH_REDIS_REST_TOKEN` (or `KV_REST_API_URL` +
 *   `KV_REST_API_TOKEN`) → Redis over HTTP (npm `@upstash/redis`), else an in-process
 *   `memoryStore()`. A malformed variable throws `InvalidOptionError`.
 * - `ttl: Strategy.ShortTerm` (5 min), `nullTtl: '30s'`, `jitter: 0.1`, `prefix: 'tiercache'`.
 * - `clock`: one `coarseClock()` shared by this entry's caches (one `Date.now()` per event-loop task, or per 64 readings).
 *
 * @example
 * ```ts
 * // REDIS_URL=redis://127.0.0.1:6379 deno run --allow-env --allow-net --allow-read server.ts
 * import { createCache } from 'tiercache' // or 'tiercache/deno'
 * const users = createCache({ namespace: 'user', ttl: '10m' })
 * Deno.serve(async () => Response.json(await users.getOrLoad('42', () => db.findUser(42))))
 * ```
 */
export function createCache(options: CacheOptions): TierCache {
  return createCacheWith(options, { l1: () => lru(), l2: () => l2FromEnv(readDenoEnv, tiers), ...time })
}
