import type { Clock, L1Store, L2Store } from './contracts.js'
import { describe, parseDuration, type Duration } from './duration.js'
import { InvalidOptionError } from './errors.js'
import type { Serializer } from './serializer.js'
import type { CacheEvent } from './events.js'
import type { CircuitBreakerOptions } from './circuit-breaker.js'

/**
 * Loads one value on a miss. Return `null` to cache absence (for `nullTtl`); never `undefined`.
 * The second argument lets the loader set the entry's ttl and tags from what it learned.
 * @example const loader: Loader<User> = async (key, ctx) => { const r = await api(key); ctx.setTtl(r.maxAge * 1000); return r.user }
 */
export type Loader<T = unknown> = (key: string, ctx: LoadContext) => T | Promise<T>

/**
 * What a loader may decide about the entry it is loading, known only once it has loaded (an
 * origin's `max-age`, the tags of what it read). Each setter checks its argument and throws an
 * `InvalidOptionError` (`E_INVALID_OPTION`) on a bad one; the last call wins.
 * @example
 * ```ts
 * await cache.getOrLoad('page:/a', async (_key, ctx) => {
 *   const res = await fetch(origin + '/a')
 *   ctx.setTtl('10m')
 *   ctx.setTags(['pages'])
 *   return await res.text()
 * })
 * ```
 */
export interface LoadContext {
  /** The key being loaded. */
  readonly key: string
  /** This entry's time to live, in place of the `ttl` option (and of `nullTtl` for a `null` result). */
  setTtl(ttl: Duration): void
  /** This entry's tags, in place of the `tags` option. */
  setTags(tags: readonly string[]): void
}

/**
 * Loads many values at once. Receives the missing keys (de-duplicated) and returns a `Map` or
 * a plain object of key → value; keys it leaves out are cached as `null` (negative caching).
 */
export type BatchLoader<T = unknown> = (
  keys: string[],
) => Map<string, T> | Record<string, T> | Promise<Map<string, T> | Record<string, T>>

/**
 * One tier in an ordered `tiers` list (the first may be an L1; the rest are L2-like stores).
 *
 * @example
 * ```ts
 * createCache({ namespace: 'n', tiers: [
 *   { store: lru({ max: 1000 }) },
 *   { store: redis({ url: 'redis://127.0.0.1:6379' }) },
 *   { store: redis({ url: 'redis://archive:6379' }), ttlScale: 4 }, // an L3 that keeps entries 4× longer
 * ] })
 * ```
 */
export interface TierConfig {
  store: L1Store | L2Store
  /** Multiplies the TTL of entries written to this tier. @default 1 */
  ttlScale?: number
  /** Copy a hit at this tier into the tiers above it. @default true */
  promote?: boolean
}

/**
 * Options of `createCache`. Everything but `namespace` has a default; bad values throw
 * `E_INVALID_OPTION` from `createCache`, not on first use.
 */
export interface CacheOptions {
  /** The cache's area: `[A-Za-z0-9_.-]`, 1–100 characters. Keys live at `<prefix>:<namespace>:<key>`. */
  namespace: string
  /** Redis key prefix, same alphabet as `namespace`. @default 'tiercache' */
  prefix?: string
  /** The in-process tier; `false` for remote-only. @default the runtime's default (an `lru()`) */
  l1?: L1Store | false
  /** The shared tier; `false` for local-only. @default the runtime's default (`memoryStore()` when no Redis is configured) */
  l2?: L2Store | false
  /** An ordered list of tiers instead of `l1`/`l2` (allows an L3 and beyond, with `ttlScale`). */
  tiers?: TierConfig[]
  /** Time to live of entries: ms, a duration string, or a `Strategy` preset. @default Strategy.ShortTerm (5 min) */
  ttl?: Duration
  /** Time to live of negative entries (a loader's `null`). @default '30s' */
  nullTtl?: Duration
  /** Spreads expiries by ±ratio of the TTL so entries written together do not expire together. 0 to 1. @default 0.1 */
  jitter?: number
  /**
   * How long an expired entry may still be served stale (L2 keeps it for ttl + grace).
   * 0 turns stale serving off. @default 0
   */
  grace?: Duration
  /**
   * Within grace, answer at once with the stale value and refresh it with one background load
   * (`true`), or wait for the loader and fall back to the stale value only if it fails (`false`).
   * @default true
   */
  staleWhileRevalidate?: boolean
  /**
   * A hit in the last `refreshAhead` fraction of an entry's ttl returns the value and starts one
   * background refresh (0 < refreshAhead < 1), e.g. 0.2 for the last 20 %. `false` is off. @default false
   */
  refreshAhead?: number | false
  /** On a loader failure, serve the stale value when one is within grace. @default true */
  staleOnError?: boolean
  /**
   * `soft`: with a stale value at hand, answer with it after this long and let the loader finish
   * in the background. `hard`: reject with `E_LOADER_TIMEOUT` after this long (the loader goes on;
   * its result is cached if it succeeds). @default {} (no timeouts)
   */
  loaderTimeout?: { soft?: Duration; hard?: Duration }
  /** Longest wait for one operation of a shared tier; past it the call counts as failed. `false`: no limit. @default '1s' */
  l2Timeout?: Duration | false
  /**
   * Per shared tier: after `failures` consecutive failures (errors or timeouts) the tier is
   * skipped for `cooldown`, then probed with one call. `false` turns it off.
   * @default { failures: 5, cooldown: '10s' }
   */
  circuitBreaker?: CircuitBreakerOptions | false
  /**
   * Keeps the L1s of all instances consistent. Every write publishes a message on the
   * namespace's Redis Stream (and Pub/Sub channel); instances drop what changed.
   * - `transport`: `pubsub` (a subscriber connection, with stream catch-up after reconnects),
   *   `stream` (request-driven polling: due when `pollInterval` has passed, riding on an L2 read
   *   where one happens), `auto` (pubsub where the store can hold a connection, else stream),
   *   `off`. @default 'auto'
   * - `pollInterval`: how often the stream is polled (bounds staleness). @default '1s'
   * - `streamMaxLen`: approximate stream length kept (MAXLEN ~). @default 10000
   * `false` is `{ transport: 'off' }`.
   */
  invalidation?: InvalidationOptions | false
  /**
   * Cross-instance single-flight: a miss takes a lock in the first shared tier that supports
   * locks (SET NX PX with a random token) before it runs the loader, so one loader runs per key
   * across all instances; the others poll L2 with backoff (5 ms doubling to 100 ms) until the
   * value appears or the lock is free (released, or its lease passed: a crashed holder delays
   * others by at most one lease). If the tier is unreachable the load goes ahead without it.
   * `true` is `{ lease: '5s' }`. @default false
   */
  lock?: boolean | { lease?: Duration }
  /** Encodes values for L2 and beyond. @default defaultSerializer (JSON + Date, Map, Set, BigInt, typed arrays) */
  serializer?: Serializer
  /** The loader `get` uses on a miss (per-call loaders go through `getOrLoad`). */
  loader?: Loader
  /** Longest key accepted, in characters. @default 1024 */
  maxKeyLength?: number
  /** Time source. @default the runtime entry's: a shared `coarseClock()` on Node, Bun, Deno and the default entry; `systemClock` (Date.now) on Workers and in `createCacheWith` */
  clock?: Clock
  /** Called for every notable event (L2 errors, corrupt entries, load errors). Never throws into the cache. */
  onEvent?: (event: CacheEvent) => void
  /** Keeps background work (promotions to deeper tiers) alive on platforms that need it, e.g. Workers' `ctx.waitUntil`. */
  waitUntil?: (promise: Promise<unknown>) => void
}

/** See `CacheOptions.invalidation`. */
export interface InvalidationOptions {
  transport?: 'auto' | 'pubsub' | 'stream' | 'off'
  pollInterval?: Duration
  streamMaxLen?: number
}

/** Per-write options. */
export interface WriteOptions {
  /** Overrides the cache's ttl for this write. */
  ttl?: Duration
  /** Tags stored with the entry. */
  tags?: readonly string[]
}

/** Per-read options. */
export interface ReadOptions {
  /** Skip the configured loader: a miss resolves to `undefined`. @default false */
  disableLoad?: boolean
  /** Whether a stale value (expired, within grace) may be returned. @default true */
  allowStale?: boolean
}

/** Per-load options (`getOrLoad`, `mgetOrLoad`, `warmup`). */
export interface LoadOptions extends WriteOptions {
  /** Overrides the cache's nullTtl for a `null` result. */
  nullTtl?: Duration
  /** Whether a stale value (expired, within grace) may be returned. @default true */
  allowStale?: boolean
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,100}$/

export function checkName(value: unknown, option: string): string {
  if (typeof value !== 'string' || !NAME_RE.test(value)) {
    throw new InvalidOptionError(`${option} must be 1–100 characters of [A-Za-z0-9_.-]; got ${describe(value)}`, { option })
  }
  return value
}

export function checkRatio(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidOptionError(`${option} must be a number from 0 to 1; got ${describe(value)}`, { option })
  }
  return value
}

export function checkPositive(value: unknown, option: string, fallback: number, integer = false): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new InvalidOptionError(`${option} must be a positive ${integer ? 'integer' : 'number'}; got ${describe(value)}`, { option })
  }
  return value
}

export function checkFunction<F>(value: unknown, option: string): F | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') throw new InvalidOptionError(`${option} must be a function; got ${describe(value)}`, { option })
  return value as F
}

/** A positive TTL in ms (0 would mean "never stored"). */
export function checkTtl(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback
  const ms = parseDuration(value, option)
  if (ms <= 0) throw new InvalidOptionError(`${option} must be greater than 0; got ${describe(value)}`, { option })
  return ms
}

export function checkTags(value: unknown, option: string): readonly string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || !value.every((t) => typeof t === 'string' && t.length > 0)) {
    throw new InvalidOptionError(`${option} must be an array of non-empty strings; got ${describe(value)}`, { option })
  }
  return value
}

const KNOWN_OPTIONS = new Set([
  'namespace', 'prefix', 'l1', 'l2', 'tiers', 'ttl', 'nullTtl', 'jitter', 'serializer', 'loader',
  'maxKeyLength', 'clock', 'onEvent', 'waitUntil', 'grace', 'staleWhileRevalidate', 'refreshAhead', 'staleOnError',
  'loaderTimeout', 'l2Timeout', 'circuitBreaker', 'invalidation', 'lock',
])

export function checkBoolean(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new InvalidOptionError(`${option} must be true or false; got ${describe(value)}`, { option })
  return value
}

/** A non-negative duration in ms, `fallback` when undefined; `false` (where allowed) is 0. */
export function checkDuration(value: unknown, option: string, fallback: number, allowFalse = false): number {
  if (value === undefined) return fallback
  if (allowFalse && value === false) return 0
  return parseDuration(value, option)
}

/** Rejects misspelt options (`tll: 5`) instead of silently ignoring them. */
export function checkKnown(options: object, known: ReadonlySet<string>, where: string): void {
  for (const name of Object.keys(options)) {
    if (!known.has(name)) {
      throw new InvalidOptionError(`${where}: unknown option '${name}' (known: ${[...known].join(', ')})`, { option: name })
    }
  }
}

export { KNOWN_OPTIONS }
