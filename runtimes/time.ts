/**
 * How the entries whose timers outlive a request (Node, Deno, Bun, the default entry) keep
 * time: one `coarseClock()` per entry, and one timer per cache for its L2 time limits. Workers
 * keep `Date.now()` and a timer per operation, since a timer there dies with its request.
 * @module
 */
import { coarseClock, unrefTimer, type RuntimeDefaults } from '../src/index.js'

/**
 * The `clock` and `sharedTimer` runtime defaults, to be made once per entry and spread into
 * each `createCacheWith` call.
 * @param unref makes the shared timer not keep the process alive. @default `timer.unref()` where timers have it
 * @example
 * ```ts
 * const time = longLivedTimers()
 * export const createCache = (options: CacheOptions) => createCacheWith(options, { l1: () => lru(), ...time })
 * ```
 */
export function longLivedTimers(unref: (timer: ReturnType<typeof setTimeout>) => void = unrefTimer): Required<Pick<RuntimeDefaults, 'clock' | 'sharedTimer'>> {
  const clock = coarseClock()
  return { clock, sharedTimer: { clock, unref } }
}
