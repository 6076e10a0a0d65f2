/**
 * The contracts between the engine and its tiers. Adapters (in `adapters/`) implement them;
 * the engine never sees a concrete client. L1 is synchronous and holds live values; L2 and
 * later tiers are asynchronous and hold strings.
 * @module
 */

/** A source of time in milliseconds since the epoch. Injected so tests can use a fake clock. */
export interface Clock {
  now(): number
}

/** The system clock (`Date.now`). */
export const systemClock: Clock = { now: () => Date.now() }

/** What the engine keeps in an L1: the live value and its lifetimes. */
export interface L1Entry {
  readonly value: unknown
  /** Epoch ms after which the entry is no longer fresh. */
  readonly expiresAt: number
  /** Epoch ms until which the entry may be served stale (grace); equals expiresAt without grace. */
  readonly staleUntil: number
  /** Epoch ms after which a hit starts a background refresh (refresh-ahead); Infinity when off. */
  readonly refreshAt: number
  /** The entry's tags, when it has any. */
  readonly tags?: readonly string[]
}

/**
 * A synchronous in-process tier holding live values (no serialization per hit).
 * One L1 store belongs to one cache: the engine claims it and refuses to share it.
 */
export interface L1Store {
  readonly kind: 'l1'
  /** Shown in stats and diagnostics, e.g. `lru`. */
  readonly name: string
  /** Upper bound in ms for how long an entry stays in this tier; 0 means no cap. */
  readonly maxTtl: number
  /** The entry for `key`, or `undefined`. The engine checks `expiresAt`. */
  get(key: string): L1Entry | undefined
  set(key: string, entry: L1Entry): void
  delete(key: string): void
  clear(): void
  /** Number of entries held (expired ones may still count until evicted). */
  readonly size: number
  /** Set by the engine when a cache takes the store; used to refuse sharing. */
  owner?: string | undefined
}

/** One write to an L2: a full Redis key, the encoded entry, and its physical TTL in ms. */
export interface L2Write {
  readonly key: string
  readonly value: string
  readonly ttl: number
  /**
   * Full keys of the tag sets this entry belongs to. A store that supports tags adds `key` to
   * each set (and keeps each set alive at least `ttl`) in the same round trip as the write.
   */
  readonly tagKeys?: readonly string[]
}

/** One entry of a Redis Stream. */
export interface StreamEntry {
  readonly id: string
  readonly fields: Record<string, string>
}

/**
 * Raw Redis Streams, for `cache.streams` and the invalidation bus. `read` with `block`
 * waits up to that many ms for entries after `after`.
 */
export interface StreamOps {
  add(key: string, fields: Record<string, string>, maxLen: number): Promise<string>
  /** The newest `count` entries, newest first. */
  latest(key: string, count: number): Promise<StreamEntry[]>
  /** Entries after `after` (exclusive; `'$'` means "from now", `'0'` from the start), oldest first. */
  read(key: string, options: { after: string; count: number; block?: number }): Promise<StreamEntry[]>
}

/**
 * The invalidation bus of one namespace: a Redis Stream (the record every reader catches up
 * from) and a Pub/Sub channel (instant delivery where a connection can be held).
 */
export interface InvalidationBus {
  /** Appends `message` to the stream (MAXLEN ~) and publishes `<id>|<message>`, in one round trip; resolves to the entry id. */
  publish(message: string): Promise<string>
  /** The newest entry's id; appends an empty marker entry first if the stream is empty, so the id always names a real entry. */
  head(): Promise<string>
  /**
   * Entries after `cursor`, oldest first, at most `count`. `found` is false when the entry
   * `cursor` names is no longer in the stream (trimmed or deleted): entries may have been lost.
   */
  read(cursor: string, count: number): Promise<{ found: boolean; entries: { id: string; message: string }[] }>
  /**
   * Pub/Sub, where the store can hold a connection: calls `onMessage` for every published
   * message, `onLost` as soon as the subscription's connection is lost (messages may be missed
   * from then on), and `onReady` each time the subscription is (re)established, so the caller
   * can catch up from the stream. Resolves once subscribed, to a function that unsubscribes.
   */
  subscribe?(onMessage: (id: string, message: string) => void, onReady: () => void, onLost: () => void): Promise<() => Promise<void>>
}

/**
 * An asynchronous tier holding strings under full keys (`<prefix>:<namespace>:<key>`).
 * `mget` and `mset` are optional: the engine fills them in with parallel single calls when a
 * store lacks them, but a store that can batch should (one round trip per batch).
 */
export interface L2Store {
  readonly kind: 'l2'
  /** Shown in stats, errors and diagnostics, e.g. `redis`, `memory`. */
  readonly name: string
  /** The stored string, or `null` when absent or expired. */
  get(key: string): Promise<string | null>
  /** Values in the order of `keys`, `null` for absent ones. One round trip. */
  mget?(keys: readonly string[]): Promise<(string | null)[]>
  /** Stores `value` for `ttl` ms (always > 0). */
  set(key: string, value: string, ttl: number): Promise<void>
  /** Stores every write in one round trip. */
  mset?(writes: readonly L2Write[]): Promise<void>
  /** Removes the keys (one round trip). */
  delete(keys: readonly string[]): Promise<void>
  /** Removes every key starting with `prefix`; resolves to how many were removed. */
  clear(prefix: string): Promise<number>
  /** Releases what the store owns (connections it opened itself). */
  close?(): Promise<void>
  /** Tags: removes every key in the tag set `tagKey`, and the set; resolves to how many keys. */
  deleteTag?(tagKey: string): Promise<number>
  /** Invalidation: the bus of one namespace, given its stream key and channel. */
  bus?(stream: string, channel: string, maxLen: number): InvalidationBus
  /** Raw Redis Streams (`cache.streams`). */
  readonly streams?: StreamOps
  /** Locks: sets `key` to `token` for `ttl` ms only if it is absent (SET NX PX); resolves whether it did. */
  lock?(key: string, token: string, ttl: number): Promise<boolean>
  /** Locks: deletes `key` only if it still holds `token` (compare-and-delete). */
  unlock?(key: string, token: string): Promise<void>
  /** Diagnostics: where the store points, credentials removed (`cache.diagnostics()`). */
  describe?(): { endpoint?: string; connected?: boolean }
}

/** A tier as the engine holds it. */
export type Store = L1Store | L2Store
