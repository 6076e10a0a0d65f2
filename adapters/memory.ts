/**
 * An embedded, in-process L2: the default where no Redis is configured. It stores the
 * encoded strings (like Redis would), honours TTLs, and needs no timers, so it behaves the
 * same on every runtime. It is shared by every cache that is given the same instance, and
 * is lost with the process.
 * @module
 */
import { systemClock, type Clock, type InvalidationBus, type L2Store, type L2Write, type StreamEntry, type StreamOps } from '../src/contracts.js'
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
    for (const [key, set] of tagSets) if (set.expiresAt <= now) tagSets.delete(key)
  }

  // tag sets: key → members, kept alive as long as their longest-lived member
  const tagSets = new Map<string, { members: Set<string>; expiresAt: number }>()
  const addTags = (w: L2Write): void => {
    for (const tagKey of w.tagKeys ?? []) {
      let set = tagSets.get(tagKey)
      if (set === undefined || set.expiresAt <= clock.now()) tagSets.set(tagKey, (set = { members: new Set(), expiresAt: 0 }))
      set.members.add(w.key)
      set.expiresAt = Math.max(set.expiresAt, clock.now() + w.ttl)
    }
  }

  const streams = memoryStreams(clock)
  const channels = new Map<string, Set<(payload: string) => void>>()

  return {
    kind: 'l2',
    name: 'memory',
    get: async (key) => read(key),
    mget: async (keys) => keys.map(read),
    set: async (key, value, ttl) => write(key, value, ttl),
    mset: async (list: readonly L2Write[]) => {
      for (const w of list) {
        write(w.key, w.value, w.ttl)
        addTags(w)
      }
    },
    deleteTag: async (tagKey) => {
      const set = tagSets.get(tagKey)
      tagSets.delete(tagKey)
      if (set === undefined) return 0
      for (const key of set.members) items.delete(key)
      return set.members.size
    },
    streams,
    bus: (stream, channel, maxLen) => memoryBus(streams, channels, stream, channel, maxLen),
    lock: async (key, token, ttl) => {
      if (read(key) !== null) return false
      write(key, token, ttl)
      return true
    },
    unlock: async (key, token) => {
      if (read(key) === token) items.delete(key)
    },
    delete: async (keys) => {
      for (const key of keys) items.delete(key)
    },
    clear: async (prefix) => {
      let removed = 0
      for (const key of tagSets.keys()) if (key.startsWith(prefix)) tagSets.delete(key)
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

/** In-process Redis Streams: ids `<ms>-<seq>`, exact MAXLEN trimming, blocking reads. */
function memoryStreams(clock: Clock): StreamOps & { entries(key: string): StreamEntry[] } {
  const data = new Map<string, { entries: StreamEntry[]; last: [number, number]; waiters: Set<() => void> }>()
  const streamOf = (key: string) => {
    let stream = data.get(key)
    if (stream === undefined) data.set(key, (stream = { entries: [], last: [0, 0], waiters: new Set() }))
    return stream
  }
  const parse = (id: string): [number, number] => {
    const [ms, seq] = id.split('-')
    return [Number(ms), Number(seq ?? 0)]
  }
  const after = (id: string, than: [number, number]): boolean => {
    const [ms, seq] = parse(id)
    return ms > than[0] || (ms === than[0] && seq > than[1])
  }
  const collect = (key: string, from: string, count: number): StreamEntry[] => {
    const stream = data.get(key)
    if (stream === undefined) return []
    const bound: [number, number] = from === '$' ? stream.last : parse(from)
    return stream.entries.filter((e) => after(e.id, bound)).slice(0, count)
  }
  return {
    entries: (key) => data.get(key)?.entries ?? [],
    async add(key, fields, maxLen) {
      const stream = streamOf(key)
      const now = clock.now()
      const id: [number, number] = now > stream.last[0] ? [now, 0] : [stream.last[0], stream.last[1] + 1]
      stream.last = id
      stream.entries.push({ id: `${id[0]}-${id[1]}`, fields: { ...fields } })
      if (stream.entries.length > maxLen) stream.entries.splice(0, stream.entries.length - maxLen)
      for (const wake of stream.waiters) wake()
      return `${id[0]}-${id[1]}`
    },
    async latest(key, count) {
      return (data.get(key)?.entries ?? []).slice(-count).reverse()
    },
    async read(key, { after: from, count, block }) {
      const bound = from === '$' ? `${streamOf(key).last[0]}-${streamOf(key).last[1]}` : from
      const found = collect(key, bound, count)
      if (found.length > 0 || block === undefined || block <= 0) return found
      const stream = streamOf(key)
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer)
          stream.waiters.delete(wake)
          resolve()
        }
        const timer = setTimeout(wake, block)
        stream.waiters.add(wake)
      })
      return collect(key, bound, count)
    },
  }
}

/** The invalidation bus over the in-process streams, with an in-process channel for Pub/Sub. */
function memoryBus(
  streams: ReturnType<typeof memoryStreams>,
  channels: Map<string, Set<(payload: string) => void>>,
  stream: string,
  channel: string,
  maxLen: number,
): InvalidationBus {
  return {
    async publish(message) {
      const id = await streams.add(stream, { m: message }, maxLen)
      for (const listener of channels.get(channel) ?? []) queueMicrotask(() => listener(`${id}|${message}`))
      return id
    },
    async head() {
      const newest = (await streams.latest(stream, 1))[0]
      return newest?.id ?? streams.add(stream, { m: '' }, maxLen)
    },
    async read(cursor, count) {
      const entries = streams.entries(stream)
      const found = entries.some((e) => e.id === cursor)
      const after = await streams.read(stream, { after: cursor, count })
      return { found, entries: after.map((e) => ({ id: e.id, message: e.fields.m ?? '' })) }
    },
    async subscribe(onMessage, onReady) {
      // in-process: the subscription is never lost
      const listener = (payload: string): void => {
        const bar = payload.indexOf('|')
        onMessage(payload.slice(0, bar), payload.slice(bar + 1))
      }
      let set = channels.get(channel)
      if (set === undefined) channels.set(channel, (set = new Set()))
      set.add(listener)
      onReady()
      return async () => {
        set.delete(listener)
      }
    },
  }
}
