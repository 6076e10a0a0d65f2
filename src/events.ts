import type { L2Error } from './errors.js'

/** A tier failed an operation; reads fell through, writes were counted as failed. */
export interface L2ErrorEvent {
  type: 'l2:error'
  namespace: string
  tier: string
  operation: string
  keys: readonly string[]
  error: L2Error
}

/** A stored entry could not be decoded; it was treated as a miss. */
export interface CorruptEvent {
  type: 'corrupt'
  namespace: string
  tier: string
  key: string
}

/** A loader threw (or returned `undefined`); every waiter got the error; nothing was cached. */
export interface LoadErrorEvent {
  type: 'load:error'
  namespace: string
  keys: readonly string[]
  error: unknown
}

/** Everything `onEvent` receives. */
export type CacheEvent = L2ErrorEvent | CorruptEvent | LoadErrorEvent

/** Per-tier counters. `hits` counts requests this tier answered; `misses` counts lookups here that found nothing. */
export interface TierStats {
  name: string
  hits: number
  misses: number
}

/**
 * A snapshot of a cache's counters. Every request (each `get`, each distinct key of an
 * `mget`) is counted exactly once: `requests = Σ tiers[].hits + misses`.
 */
export interface CacheStats {
  namespace: string
  requests: number
  /** Requests answered by some tier. */
  hits: number
  /** Requests no tier answered (whether or not a loader then filled them). */
  misses: number
  /** hits / requests, 0 when there were none. */
  hitRate: number
  /** Keyed by tier label: `l1`, `l2`, `l3`, … */
  tiers: Record<string, TierStats>
  /** Entries copied from a deeper tier into the tiers above it. */
  promotions: number
  /** Loader calls (a batch loader call counts once). */
  loads: number
  loadErrors: number
  inflightLoads: number
  /** Requests that joined a lookup already in flight for the same key instead of starting one. */
  coalesced: number
  /** Entries read from a tier that could not be decoded (counted as misses). */
  corrupt: number
  /** Failed tier operations, reads and writes. */
  l2Errors: number
  /** Writes (set, mset, delete, clear, promotion) that failed on some tier. */
  l2WriteErrors: number
  sets: number
  deletes: number
}
