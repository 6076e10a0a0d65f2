/**
 * L1 over tiny-lru: a bounded, per-isolate LRU holding live values.
 * @module
 */
import { LRU } from 'tiny-lru'
import type { L1Entry, L1Store } from '../src/contracts.js'
import { checkPositive } from '../src/options.js'
import { parseDuration, type Duration } from '../src/duration.js'
import { InvalidOptionError } from '../src/errors.js'

/** Options of {@link lru}. */
export interface LruOptions {
  /** Most entries held; the least recently used is evicted past it. @default 10000 */
  max?: number
  /** Cap on how long an entry stays in L1, whatever its TTL in L2 (0: no cap). @default 0 */
  ttl?: Duration
  /**
   * Store and return copies (`structuredClone`) instead of the live value, so callers cannot
   * mutate the cached value. Costs a clone per hit. @default false
   */
  clone?: boolean
}

/**
 * Creates an L1 store over tiny-lru.
 *
 * A hit returns the stored reference: the object you get is the object in the cache, so
 * mutating it changes what later hits see. That is what makes an L1 hit as cheap as a
 * `Map.get`. Pass `clone: true` to get copies instead.
 *
 * Each cache needs its own `lru()`; the engine refuses to share one between caches.
 *
 * @example
 * ```ts
 * import { createCache } from 'tiercache'
 * import { lru } from 'tiercache/lru'
 * const cache = createCache({ namespace: 'user', l1: lru({ max: 50_000, ttl: '1m' }) })
 * ```
 */
export function lru(options: LruOptions = {}): L1Store {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('lru() options must be an object', { option: 'lru' })
  const max = checkPositive(options.max, 'lru.max', 10_000, true)
  const maxTtl = options.ttl === undefined ? 0 : parseDuration(options.ttl, 'lru.ttl')
  if (options.clone !== undefined && typeof options.clone !== 'boolean') {
    throw new InvalidOptionError('lru.clone must be a boolean', { option: 'lru.clone' })
  }
  // tiny-lru's own TTL stays off: the engine checks each entry's expiry itself (one clock read per hit)
  const items = new LRU<L1Entry>(max, 0, false)
  if (options.clone === true) {
    return {
      kind: 'l1',
      name: 'lru',
      maxTtl,
      get(key) {
        const entry = items.get(key)
        return entry === undefined ? undefined : { ...entry, value: structuredClone(entry.value) }
      },
      set(key, entry) {
        items.set(key, { ...entry, value: structuredClone(entry.value) })
      },
      delete: (key) => void items.delete(key),
      clear: () => void items.clear(),
      get size() {
        return items.size
      },
    }
  }
  return {
    kind: 'l1',
    name: 'lru',
    maxTtl,
    get: items.get.bind(items),
    set: (key, entry) => void items.set(key, entry),
    delete: (key) => void items.delete(key),
    clear: () => void items.clear(),
    get size() {
      return items.size
    },
  }
}
