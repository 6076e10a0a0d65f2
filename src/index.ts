/**
 * tiercache core: the runtime-agnostic engine and its contracts. Runtime entries
 * (`tiercache`, `tiercache/node`, …) wrap `createCacheWith` with platform defaults.
 * @module
 */
import { TierCache, type RuntimeDefaults } from './cache.js'
import type { CacheOptions } from './options.js'
import * as errors from './errors.js'

export { TierCache, type RuntimeDefaults } from './cache.js'
export { Strategy, parseDuration, type Duration } from './duration.js'
export { defaultSerializer, type Serializer } from './serializer.js'
export { encodeEnvelope, decodeEnvelope, type Envelope } from './envelope.js'
export { coarseClock, isCoarseClock, unrefTimer, type CoarseClockOptions } from './clock.js'
export type { SharedTimer } from './deadlines.js'
export { systemClock, type Clock, type L1Entry, type L1Store, type L2Store, type L2Write, type Store } from './contracts.js'
export type { CacheEvent, CacheStats, TierStats, L2ErrorEvent, CorruptEvent, LoadErrorEvent, HitEvent, MissEvent, LoadEvent } from './events.js'
export {
  metricPoints, prometheusText, quantile, redactSecrets, redactUrl, LatencyHistogram, LATENCY_BUCKETS, METRICS, PROMETHEUS_CONTENT_TYPE,
  type Diagnostics, type LatencySeries, type MetricPoint, type Observer, type Operation, type OperationRecord, type OperationResult,
  type PrometheusSource, type StoreDescription, type TierDiagnostics,
} from './observability.js'
export { instrumentOtel, type OtelApi, type OtelOptions, type OtelTarget } from './telemetry.js'
export { eventLogger, type EventLoggerOptions, type LogRecord } from './logging.js'
export type { BatchLoader, CacheOptions, Loader, LoadContext, LoadOptions, ReadOptions, TierConfig, WriteOptions } from './options.js'
export type { ErrorCode } from './errors.js'
export { cacheable, cacheableBatch, cachePut, cacheEvict, cacheEvictBatch, cached, type CacheableOptions, type CacheableBatchOptions, type CachePutOptions, type CacheEvictOptions, type CacheEvictBatchOptions, type CacheSource, type KeySource, type OnCacheError, type DecoratorErrorEvent, type DecoratorName } from './decorators.js'
/** The error classes, each with a stable `code`: `errors.InvalidKeyError` (`E_INVALID_KEY`), … */
export { errors }

/**
 * Creates a cache from explicit tiers, with no runtime defaults: give `l1`, `l2` or `tiers`.
 * Runtime entries use the `defaults` argument to fill in tiers the caller left undefined.
 *
 * @example
 * ```ts
 * import { createCacheWith } from 'tiercache/core'
 * import { lru } from 'tiercache/lru'
 * const cache = createCacheWith({ namespace: 'user', l1: lru({ max: 1000 }) })
 * ```
 */
export function createCacheWith(options: CacheOptions, defaults?: RuntimeDefaults): TierCache {
  return new TierCache(options, defaults)
}
