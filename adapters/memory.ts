/**
 * An embedded, in-process L2: the default where no Redis is configured. It stores the
 * encoded strings (like Redis would), honours TTLs, and needs no timers, so it behaves the
 * same on every runtime. It is shared by every cache that is given the same instance, and
 * is lost with the process.
 * @module
 */
import { systemClock, type Clock, type L2Store, type L2Write } from '../src/contracts.js'
import { checkPositive } from '../src/options.js'

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Most entries held; past it the oldest write is dropped. @default 100000 */
  maxEntries?: number
  /** Time source for expiry. @default systemClock */
  clock?: Clock
}

/** The store returned by {@link memoryStore}; `size` is for tests and diagnostics. */
export interface MemoryStore extends L2Store {
  readonly size: number
}

const SWEEP_EVERY = 1024

/**
 * Creates an in-process L2 store.
 *
 * @example
 * ```ts
 * import { createCache } from 'tiercache'
 * import { lru } from 'tiercache/lru'
 * import { memoryStore } from 'tiercache/memory'
 * const shared = memoryStore({ maxEntries: 50_000 })
 * const users = createCache({ namespace: 'user', l1: lru(), l2: shared })
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxEntries = checkPositive(options.maxEntries, 'memoryStore.maxEntries', 100_000, true)
  const clock = options.clock ?? systemClock
  const items = new Map<string, { value: string; expiresAt: number }>()
  let writes = 0

  const read = (key: string): string | null => {
    const item = items.get(key)
    if (item === undefined) return null
    if (item.expiresAt <= clock.now()) {
      items.delete(key)
      return null
    }
    return item.value
  }
  const write = (key: string, value: string, ttl: number): void => {
    items.delete(key) // re-insert so Map order is write order
    items.set(key, { value, expiresAt: clock.now() + ttl })
    if (++writes % SWEEP_EVERY === 0) sweep()
    while (items.size > maxEntries) items.delete(items.keys().next().value as string)
  }
  const sweep = (): void => {
    const now = clock.now()
    for (const [key, item] of items) if (item.expiresAt <= now) items.delete(key)
  }

  return {
    kind: 'l2',
    name: 'memory',
    get: async (key) => read(key),
    mget: async (keys) => keys.map(read),
    set: async (key, value, ttl) => write(key, value, ttl),
    mset: async (list: readonly L2Write[]) => {
      for (const w of list) write(w.key, w.value, w.ttl)
    },
    delete: async (keys) => {
      for (const key of keys) items.delete(key)
    },
    clear: async (prefix) => {
      let removed = 0
      for (const key of items.keys()) {
        if (key.startsWith(prefix)) {
          items.delete(key)
          removed++
        }
      }
      return removed
    },
    get size() {
      return items.size
    },
  }
}
