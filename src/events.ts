import type { L2Error } from './errors.js'
import type { InvalidationStats } from './invalidation.js'

/** A tier failed an operation; reads fell through, writes were counted as failed. */
export interface L2ErrorEvent {
  type: 'l2:error'
  namespace: string
  tier: string
  operation: string
  keys: readonly string[]
  /** The operation exceeded `l2Timeout`. */
  timeout: boolean
  /** The call was not made: the tier's circuit is open. */
  skipped: boolean
  error: L2Error
}

/** A shared tier's circuit breaker changed state. */
export interface CircuitEvent {
  type: 'circuit'
  namespace: string
  tier: string
  state: 'closed' | 'open' | 'half-open'
}

/** A stale value (expired, within grace) was served. */
export interface StaleEvent {
  type: 'stale'
  namespace: string
  key: string
  /** `revalidate`: stale-while-revalidate; `error`: the loader failed; `timeout`: the soft timeout passed; `no-loader`: a read without a loader. */
  reason: 'revalidate' | 'error' | 'timeout' | 'no-loader'
}

/** A background refresh (stale-while-revalidate or refresh-ahead) failed; the caller was not affected. */
export interface RefreshErrorEvent {
  type: 'refresh:error'
  namespace: string
  key: string
  error: unknown
}

/** A loader passed `loaderTimeout.hard`. */
export interface LoadTimeoutEvent {
  type: 'load:timeout'
  namespace: string
  keys: readonly string[]
  timeout: number
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

/** A message from another instance was applied to this L1. */
export interface InvalidationEvent {
  type: 'invalidation'
  namespace: string
  keys?: readonly string[]
  tags?: readonly string[]
  clear?: boolean
}

/**
 * A request answered by a tier (fresh, or `stale` within grace). Emitted once per request
 * (each get, each distinct key of a batch), only while an `onEvent` listener is set.
 */
export interface HitEvent {
  type: 'hit'
  namespace: string
  key: string
  /** `l1`, `l2`, … */
  tier: string
  stale: boolean
}

/** A request no tier answered; `loaded` when a loader then filled it. Emitted once per request, only while an `onEvent` listener is set. */
export interface MissEvent {
  type: 'miss'
  namespace: string
  key: string
  loaded: boolean
}

/** A loader call finished (a batch loader call is one event), successfully or not. */
export interface LoadEvent {
  type: 'load'
  namespace: string
  keys: readonly string[]
  /** Wall time of the loader call in ms. */
  durationMs: number
  ok: boolean
}

/** Everything `onEvent` receives. */
export type CacheEvent =
  | HitEvent | MissEvent | LoadEvent
  | L2ErrorEvent | CorruptEvent | LoadErrorEvent | CircuitEvent | StaleEvent | RefreshErrorEvent | LoadTimeoutEvent | InvalidationEvent

/** Per-tier counters. `hits` counts requests this tier answered; `misses` counts lookups here that found nothing. */
export interface TierStats {
  name: string
  hits: number
  misses: number
  /** hits / requests that reached this tier (those not answered by the tiers above it); 0 when none did. */
  hitRate: number
  /** In-process tiers: entries held now (expired ones may count until evicted). */
  entries?: number
  /** The circuit breaker's state (shared tiers; always `closed` for L1 or without a breaker). */
  circuit: 'closed' | 'open' | 'half-open'
  /** How many times the circuit opened. */
  circuitOpened: number
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
  /** Single L2 reads that went out in one MGET with others issued in the same tick (beyond the first). */
  coalescedReads: number
  /** Cross-instance locks: taken, waits for another holder, and values another instance loaded meanwhile. */
  locks: { acquired: number; waits: number; peerHits: number }
  /** Entries read from a tier that could not be decoded (counted as misses). */
  corrupt: number
  /** Failed tier operations, reads and writes (timeouts and calls skipped by an open circuit included). */
  l2Errors: number
  /** Of those, operations that passed `l2Timeout`. */
  l2Timeouts: number
  /** Of those, calls not made because the tier's circuit was open. */
  l2Skipped: number
  /** Writes (set, mset, delete, clear, promotion) that failed on some tier. */
  l2WriteErrors: number
  /** Requests answered with a stale value (also counted as hits of the tier that held it). */
  staleServed: number
  /** Background refreshes (stale-while-revalidate and refresh-ahead). */
  refreshes: { attempts: number; successes: number; failures: number }
  /** Loads that passed `loaderTimeout.hard`. */
  loadTimeouts: number
  sets: number
  deletes: number
  /** Cross-instance invalidation: transport, messages published/received/applied, flushes, polls, cursor lag. */
  invalidation: InvalidationStats
}
