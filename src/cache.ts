import { CircuitBreaker, type CircuitState } from './circuit-breaker.js'
import { isCoarseClock } from './clock.js'
import { DeadlineList, type Deadline, type SharedTimer } from './deadlines.js'
import { systemClock, type Clock, type L1Entry, type L1Store, type L2Store, type L2Write, type StreamEntry } from './contracts.js'
import { describe, parseDuration, Strategy, type Duration } from './duration.js'
import { decodeEnvelope, encodeEnvelope, freshPayloadStart } from './envelope.js'
import {
  ClosedError, InvalidKeyError, InvalidOptionError, InvalidValueError, L2Error, L2TimeoutError, LoaderResultError,
  LoaderTimeoutError, TierCacheError, UnserializableError, UnsupportedError,
} from './errors.js'
import { FAILED as SYNC_FAILED, InvalidationSync, type InvalidationMessage, type InvalidationStats, type Transport } from './invalidation.js'
import type { CacheEvent, CacheStats, StaleEvent, TierStats } from './events.js'
import {
  checkBoolean, checkDuration, checkFunction, checkKnown, checkName, checkPositive, checkRatio, checkTags, checkTtl,
  KNOWN_OPTIONS, type BatchLoader, type CacheOptions, type LoadOptions, type Loader, type LoadContext, type ReadOptions, type TierConfig,
  type WriteOptions,
} from './options.js'
import { defaultSerializer, taggedJsonAt, type Serializer } from './serializer.js'
import {
  Instruments, metricPoints, prometheusText, redactSecrets, statusOf, type Diagnostics, type LatencySeries, type MetricPoint,
  type Observer, type RequestStatus,
} from './observability.js'

/** Tiers a runtime supplies when the caller leaves `l1`/`l2` undefined. */
export interface RuntimeDefaults {
  l1?: () => L1Store
  l2?: () => L2Store
  waitUntil?: (promise: Promise<unknown>) => void
  /** The time source when the options name none (the node, bun, deno and default entries: a shared `coarseClock()`). */
  clock?: Clock
  /**
   * Keep all L2 time limits of a cache on one timer, for runtimes whose timers outlive the
   * request that armed them (not Workers). Without it each L2 call arms a timer of its own.
   */
  sharedTimer?: SharedTimer
}

/** Takes the result of a queued single read: the stored string, null, or FAILED. */
type Reader = (raw: string | null | typeof FAILED) => void

interface RemoteTier {
  readonly store: L2Store
  readonly label: string
  /** Index into the stats arrays. */
  readonly index: number
  readonly scale: number
  readonly promote: boolean
  readonly breaker: CircuitBreaker | undefined
  /** Single gets waiting to be sent together at the end of this tick, by full key. */
  readonly pending: Map<string, Reader | Reader[]>
  /** The key queued last in `pending` (the only one, when it holds one). */
  lastPending: string
  /** Sends what `pending` holds (queued as a microtask by the first read of a tick). */
  readonly flush: () => void
}

/** A live entry read from some tier. */
interface Hit {
  readonly value: unknown
  readonly expiresAt: number
  readonly staleUntil: number
  readonly refreshAt: number
  /** The stored string, when the hit came from a shared tier (reused to promote). */
  readonly raw?: string
  readonly tags?: readonly string[]
  /** Stats index of the tier that held it. */
  readonly source: number
}

/** The result of one lookup; `source` is a tier index, MISS or LOADED. */
interface Outcome {
  readonly value: unknown
  readonly source: number
  /** The value is stale (expired, within grace), and why it was served. */
  readonly stale?: StaleEvent['reason']
  /** Start a background refresh once this flight is done (stale-while-revalidate, refresh-ahead). */
  readonly refresh?: boolean
}

interface Flight {
  /** Whether this flight runs a loader (a plain `get` only looks up). */
  readonly loads: boolean
  /** Set when a write or delete of the key happens during the flight: its result is not written back. */
  superseded: boolean
  promise: Promise<Outcome>
}

interface Resolved {
  readonly loader: Loader | undefined
  readonly options: LoadOptions | undefined
  readonly allowStale: boolean
  /** Filled in with the outcome when the cache is instrumented. */
  readonly status?: RequestStatus | undefined
}

const MISS = -1
const LOADED = -2
const FAILED: unique symbol = Symbol('failed')
const SOFT_TIMEOUT: unique symbol = Symbol('soft timeout')
const NOT_FRESH: unique symbol = Symbol('not fresh')
const LOAD_FAILED: unique symbol = Symbol('load failed, stale served')
const DEFAULT_NULL_TTL = 30_000
const DEFAULT_MAX_KEY_LENGTH = 1024
const DEFAULT_L2_TIMEOUT = 1000
const NO_TAGS: readonly string[] = []
const noop = (): void => undefined

/** An entry's ttl on a shared tier: scaled by the tier's ttlScale, at least 1 ms. */
const tierTtl = (tier: RemoteTier, ttl: number): number => Math.max(1, Math.round(ttl * tier.scale))

/** Ends a tier call's time limit early: its list entry, or its own timer where there is no list. */
function endLimit(deadlines: DeadlineList | undefined, limit: Deadline | ReturnType<typeof setTimeout>): void {
  if (deadlines === undefined) clearTimeout(limit as ReturnType<typeof setTimeout>)
  else deadlines.remove(limit as Deadline)
}

/** Hands one read's result to each of the readers of its key. */
function deliverAll(readers: readonly Reader[], raw: string | null | typeof FAILED): void {
  for (const read of readers) read(raw)
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value instanceof Promise || (value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function')
}

/** The `LoadContext` handed to a loader: what it sets overrides the load's options. */
class LoadContextImpl implements LoadContext {
  ttl: number | undefined
  tags: readonly string[] | undefined
  constructor(readonly key: string) {}
  setTtl(ttl: Duration): void {
    if (ttl === undefined) throw new InvalidOptionError('setTtl needs a duration; got undefined', { option: 'setTtl', key: this.key })
    this.ttl = checkTtl(ttl, 'setTtl', 0)
  }
  setTags(tags: readonly string[]): void {
    this.tags = checkTags(tags, 'setTags')
  }
}

/**
 * A multi-level cache. Create one with `createCache`.
 *
 * Reads go L1 → L2 (→ L3 …) → loader; a hit in a deeper tier is copied into the tiers above
 * it with its remaining TTL. Loads are single-flight per key. Writes go to the shared tiers
 * first, then L1. With `grace`, expired entries may be served stale while one background
 * load refreshes them; a failing shared tier is skipped (timeouts, circuit breaker) and
 * never fails a read.
 *
 * L1 hits return the stored reference: mutating a value you got from the cache mutates the
 * cached copy (use `lru({ clone: true })` for copies).
 */
export class TierCache {
  /** The namespace this cache reads and writes. */
  readonly namespace: string
  readonly #l1: L1Store | undefined
  readonly #l1Scale: number
  readonly #remotes: readonly RemoteTier[]
  readonly #keyPrefix: string
  readonly #ttl: number
  readonly #nullTtl: number
  readonly #jitter: number
  readonly #grace: number
  readonly #swr: boolean
  readonly #refreshAhead: number
  readonly #staleOnError: boolean
  readonly #softTimeout: number
  readonly #hardTimeout: number
  readonly #l2Timeout: number
  /** The L2 time limits on one timer, where the runtime allows it (`RuntimeDefaults.sharedTimer`). */
  readonly #deadlines: DeadlineList | undefined
  readonly #serializer: Serializer
  readonly #loader: Loader | undefined
  readonly #maxKeyLength: number
  readonly #clock: Clock
  /** The system clock is read with Date.now() directly: one call less on the L1 hot path. */
  readonly #systemTime: boolean
  readonly #onEvent: ((event: CacheEvent) => void) | undefined
  readonly #waitUntil: ((promise: Promise<unknown>) => void) | undefined
  readonly #flights = new Map<string, Flight>()
  readonly #sync: InvalidationSync | undefined
  /** When the next stream poll is due (Infinity without polling); read on the L1 hot path. */
  #pollAt = Number.POSITIVE_INFINITY
  /**
   * Bumped by every write, delete, clear and applied invalidation: a direct read (no flight)
   * promotes into L1 only if nothing changed while it was out, like a flight not superseded.
   */
  #epoch = 0
  /** One shared tier and no grace: a plain `get` can read without a flight (`#directGet`). */
  #direct = false
  /** One shared tier: an untagged single write needs no batch (`#writeOne`). */
  #writesOne = false
  readonly #pollInterval: number
  readonly #tagPrefix: string
  readonly #lockPrefix: string
  readonly #lockTier: RemoteTier | undefined
  readonly #lease: number
  /** tag → keys in this L1 that carry it (pruned lazily), for deleteByTag and tag messages. */
  readonly #tagIndex = new Map<string, Set<string>>()
  #tagIndexSize = 0
  readonly #background = new Set<Promise<unknown>>()
  #closed = false
  /** Operation timing for OpenTelemetry and the dashboard: undefined until `instrument()`, so nothing of it runs before. */
  #instruments: Instruments | undefined
  /** Resolved settings only `diagnostics()` reads. */
  readonly #settings: { prefix: string; stream: string; breaker: { failures: number; cooldown: number } | undefined; invalidation: { transport: string; pollInterval: number; streamMaxLen: number } }

  // counters; the first two are touched on the L1 hot path
  #requests = 0
  #l1Hits = 0
  readonly #tierHits: number[]
  readonly #tierMisses: number[]
  readonly #tierNames: string[]
  #misses = 0
  #promotions = 0
  #loads = 0
  #loadErrors = 0
  #loadTimeouts = 0
  #inflight = 0
  #coalesced = 0
  #coalescedReads = 0
  #locksAcquired = 0
  #lockWaits = 0
  #lockPeerHits = 0
  #corrupt = 0
  #l2Errors = 0
  #l2Timeouts = 0
  #l2Skipped = 0
  #l2WriteErrors = 0
  #staleServed = 0
  #refreshAttempts = 0
  #refreshSuccesses = 0
  #refreshFailures = 0
  #sets = 0
  #deletes = 0

  constructor(options: CacheOptions, defaults: RuntimeDefaults = {}) {
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError(`createCache needs an options object with at least a namespace; got ${describe(options)}`, { option: 'options' })
    }
    checkKnown(options, KNOWN_OPTIONS, 'createCache')
    this.namespace = checkName(options.namespace, 'namespace')
    const prefix = options.prefix === undefined ? 'tiercache' : checkName(options.prefix, 'prefix')
    this.#keyPrefix = `${prefix}:${this.namespace}:`
    // '|' cannot appear in a namespace, so these names never collide with an entry's key
    this.#tagPrefix = `${prefix}:${this.namespace}|tag:`
    this.#lockPrefix = `${prefix}:${this.namespace}|lock:`
    const streamKey = `${prefix}:${this.namespace}|inval`
    this.#ttl = checkTtl(options.ttl, 'ttl', Strategy.ShortTerm)
    this.#nullTtl = checkTtl(options.nullTtl, 'nullTtl', DEFAULT_NULL_TTL)
    this.#jitter = checkRatio(options.jitter, 'jitter', 0.1)
    this.#grace = checkDuration(options.grace, 'grace', 0)
    this.#swr = checkBoolean(options.staleWhileRevalidate, 'staleWhileRevalidate', true)
    this.#staleOnError = checkBoolean(options.staleOnError, 'staleOnError', true)
    if (options.refreshAhead !== undefined && options.refreshAhead !== false && (typeof options.refreshAhead !== 'number' || !(options.refreshAhead > 0 && options.refreshAhead < 1))) {
      throw new InvalidOptionError(`refreshAhead must be a fraction of the ttl between 0 and 1 (e.g. 0.2), or false; got ${describe(options.refreshAhead)}`, { option: 'refreshAhead' })
    }
    this.#refreshAhead = options.refreshAhead === undefined || options.refreshAhead === false ? 0 : options.refreshAhead
    const loaderTimeout = options.loaderTimeout ?? {}
    if (loaderTimeout === null || typeof loaderTimeout !== 'object') {
      throw new InvalidOptionError(`loaderTimeout must be { soft?, hard? }; got ${describe(loaderTimeout)}`, { option: 'loaderTimeout' })
    }
    checkKnown(loaderTimeout, new Set(['soft', 'hard']), 'loaderTimeout')
    this.#softTimeout = checkDuration(loaderTimeout.soft, 'loaderTimeout.soft', 0)
    this.#hardTimeout = checkDuration(loaderTimeout.hard, 'loaderTimeout.hard', 0)
    if (this.#softTimeout > 0 && this.#hardTimeout > 0 && this.#softTimeout >= this.#hardTimeout) {
      throw new InvalidOptionError('loaderTimeout.soft must be shorter than loaderTimeout.hard', { option: 'loaderTimeout.soft' })
    }
    this.#l2Timeout = checkDuration(options.l2Timeout, 'l2Timeout', DEFAULT_L2_TIMEOUT, true)
    this.#deadlines = this.#l2Timeout > 0 && defaults.sharedTimer !== undefined ? new DeadlineList(this.#l2Timeout, defaults.sharedTimer) : undefined
    this.#maxKeyLength = checkPositive(options.maxKeyLength, 'maxKeyLength', DEFAULT_MAX_KEY_LENGTH, true)
    this.#loader = checkFunction<Loader>(options.loader, 'loader')
    this.#onEvent = checkFunction(options.onEvent, 'onEvent')
    this.#waitUntil = checkFunction(options.waitUntil, 'waitUntil') ?? defaults.waitUntil
    this.#clock = options.clock ?? defaults.clock ?? systemClock
    this.#systemTime = this.#clock === systemClock
    if (typeof this.#clock?.now !== 'function') throw new InvalidOptionError('clock must have a now() method', { option: 'clock' })
    this.#serializer = options.serializer ?? defaultSerializer
    if (typeof this.#serializer?.serialize !== 'function' || typeof this.#serializer.deserialize !== 'function') {
      throw new InvalidOptionError('serializer must have serialize(value) and deserialize(text) methods', { option: 'serializer' })
    }
    const breaker = resolveBreaker(options.circuitBreaker)

    const tiers = resolveTiers(options, defaults)
    const first = tiers[0]
    const hasL1 = first !== undefined && first.store.kind === 'l1'
    if (hasL1) {
      const l1 = first.store as L1Store
      if (l1.owner !== undefined) {
        throw new InvalidOptionError(`l1 store is already used by the cache '${l1.owner}'; give each cache its own lru()`, { option: 'l1' })
      }
      l1.owner = this.namespace
      this.#l1 = l1
      this.#l1Scale = first.ttlScale ?? 1
    } else {
      this.#l1 = undefined
      this.#l1Scale = 1
    }
    this.#tierNames = tiers.map((t) => t.store.name)
    this.#tierHits = tiers.map(() => 0)
    this.#tierMisses = tiers.map(() => 0)
    const remotes: RemoteTier[] = []
    tiers.forEach((tier, index) => {
      if (index === 0 && hasL1) return
      if (tier.store.kind !== 'l2') {
        throw new InvalidOptionError(`tiers[${index}]: an l1 store can only be the first tier`, { option: `tiers[${index}]` })
      }
      const label = `l${remotes.length + 2}`
      const remote: RemoteTier = {
        store: tier.store,
        label,
        index,
        scale: tier.ttlScale ?? 1,
        promote: tier.promote ?? true,
        pending: new Map(),
        lastPending: '',
        flush: () => this.#flushGets(remote),
        breaker: breaker === undefined ? undefined : new CircuitBreaker(breaker.failures, breaker.cooldown, this.#clock, (state) => {
          this.#emit({ type: 'circuit', namespace: this.namespace, tier: label, state })
        }),
      }
      remotes.push(remote)
    })
    this.#remotes = remotes
    this.#direct = remotes.length === 1 && this.#grace === 0
    this.#writesOne = remotes.length === 1

    this.#lease = resolveLease(options.lock)
    this.#lockTier = this.#lease > 0 ? remotes.find((tier) => tier.store.lock !== undefined && tier.store.unlock !== undefined) : undefined
    if (this.#lease > 0 && this.#lockTier === undefined) {
      throw new InvalidOptionError('lock needs a shared tier that supports locks (redis(), upstash(), memoryStore())', { option: 'lock' })
    }

    const invalidation = resolveInvalidation(options.invalidation)
    this.#pollInterval = invalidation.pollInterval
    this.#settings = { prefix, stream: streamKey, breaker, invalidation }
    const busTier = remotes.find((tier) => tier.store.bus !== undefined)
    if (invalidation.transport !== 'off' && busTier === undefined && invalidation.transport !== 'auto') {
      throw new InvalidOptionError(`invalidation.transport '${invalidation.transport}' needs an L2 store with an invalidation bus (redis(), upstash(), memoryStore())`, { option: 'invalidation.transport' })
    }
    if (invalidation.transport === 'off' || busTier === undefined) {
      this.#sync = undefined
    } else {
      const bus = busTier.store.bus!(streamKey, streamKey, invalidation.streamMaxLen)
      let transport: Transport
      if (invalidation.transport === 'pubsub') {
        if (bus.subscribe === undefined) {
          throw new InvalidOptionError(`invalidation.transport 'pubsub' needs a store that can hold a connection (redis()); '${busTier.store.name}' cannot: use 'stream'`, { option: 'invalidation.transport' })
        }
        transport = 'pubsub'
      } else if (invalidation.transport === 'stream') transport = 'stream'
      else transport = bus.subscribe !== undefined ? 'pubsub' : 'stream'
      this.#sync = new InvalidationSync({
        bus,
        transport,
        pollInterval: invalidation.pollInterval,
        clock: this.#clock,
        listen: this.#l1 !== undefined,
        hooks: {
          apply: (message) => this.#applyRemote(message),
          flush: () => this.#flushLocal(),
          call: async (operation, run) => {
            const result = await this.#call(busTier, operation, NO_TAGS, run, operation === 'publish')
            return result === FAILED ? SYNC_FAILED : result
          },
          track: (promise) => this.#track(promise),
          onError: () => undefined,
        },
      })
      if (this.#l1 !== undefined && transport === 'stream') this.#pollAt = 0
      this.#sync.start()
    }
  }

  // ---------------------------------------------------------------- reads

  /**
   * Reads a value: L1, then each deeper tier, then the configured `loader` (if any, unless
   * `disableLoad`). Resolves to `undefined` on a miss and to `null` for a negative entry.
   * Within `grace` an expired entry is returned stale (unless `allowStale: false`).
   * @example const user = await cache.get<User>('user:1')
   */
  get<T = unknown>(key: string, options?: ReadOptions): Promise<T | undefined> {
    if (typeof key !== 'string' || key.length === 0 || key.length > this.#maxKeyLength || this.#closed) {
      return Promise.reject(this.#keyOrClosedError(key, 'get'))
    }
    const l1 = this.#l1
    if (l1 !== undefined) {
      const entry = l1.get(key)
      if (entry !== undefined) {
        const now = this.#systemTime ? Date.now() : this.#clock.now()
        if (entry.expiresAt > now) {
          if (now >= this.#pollAt) return this.#poll().then(() => this.get<T>(key, options))
          this.#l1Hit(key)
          if (entry.refreshAt <= now && this.#loader !== undefined && options?.disableLoad !== true) this.#refresh(key, this.#loader, undefined)
          return Promise.resolve(entry.value as T)
        }
      }
    }
    const loader = options?.disableLoad === true ? undefined : this.#loader
    const status = this.#instruments === undefined ? undefined : statusOf(options)
    if (loader === undefined && this.#direct && !this.#flights.has(key)) return this.#directGet(key, options?.allowStale !== false, status) as Promise<T | undefined>
    return this.#lookupOrJoin(key, { loader, options: undefined, allowStale: options?.allowStale !== false, status }) as Promise<T | undefined>
  }

  /**
   * The value of `key` if L1 holds it fresh and nothing is due (an invalidation poll, a
   * refresh-ahead, instrumentation), synchronously; otherwise `undefined`, and nothing is
   * counted: go on with `get` or `getOrLoad`, which count the request. A hit counts as a request
   * answered by L1, like a `get`. For hot paths that cannot afford a promise per hit (a route
   * cache answering from memory); never reads a shared tier.
   * @param accept the caller's own test of the value (e.g. its own freshness); a value it
   *   rejects is not counted and `undefined` is returned. @default accepts every value
   * @example const page = cache.peek<string>(key) ?? (await cache.getOrLoad(key, render))
   */
  peek<T = unknown>(key: string, accept?: (value: T) => boolean): T | undefined {
    const l1 = this.#l1
    if (l1 === undefined || this.#instruments !== undefined || typeof key !== 'string' || this.#closed) return undefined
    const entry = l1.get(key)
    if (entry === undefined) return undefined
    const now = this.#systemTime ? Date.now() : this.#clock.now()
    if (entry.expiresAt <= now || now >= this.#pollAt || entry.refreshAt <= now) return undefined
    if (accept !== undefined && !accept(entry.value as T)) return undefined
    this.#l1Hit(key)
    return entry.value as T
  }

  /**
   * Reads a value and, on a miss, calls `loader` once per key however many callers wait
   * (single-flight), caches its result (a `null` result for `nullTtl`) and returns it.
   * A loader error reaches every waiter and is never cached (but with `staleOnError` a
   * stale value within grace is served instead).
   * @example const user = await cache.getOrLoad('user:1', () => db.users.find(1), { ttl: '10m' })
   */
  getOrLoad<T>(key: string, loader: Loader<T>, options?: LoadOptions): Promise<T> {
    if (typeof loader !== 'function') {
      return Promise.reject(new InvalidOptionError(`getOrLoad: loader must be a function; got ${describe(loader)}`, { option: 'loader', namespace: this.namespace }))
    }
    if (typeof key !== 'string' || key.length === 0 || key.length > this.#maxKeyLength || this.#closed) {
      return Promise.reject(this.#keyOrClosedError(key, 'getOrLoad'))
    }
    const l1 = this.#l1
    if (l1 !== undefined) {
      const entry = l1.get(key)
      if (entry !== undefined) {
        const now = this.#systemTime ? Date.now() : this.#clock.now()
        if (entry.expiresAt > now) {
          if (now >= this.#pollAt) return this.#poll().then(() => this.getOrLoad(key, loader, options))
          this.#l1Hit(key)
          if (entry.refreshAt <= now) this.#refresh(key, loader, options)
          return Promise.resolve(entry.value as T)
        }
      }
    }
    const status = this.#instruments === undefined ? undefined : statusOf(options)
    return this.#lookupOrJoin(key, { loader, options, allowStale: options?.allowStale !== false, status }) as Promise<T>
  }

  /**
   * Reads many keys in one round trip per tier. Resolves to a `Map` in the order of `keys`
   * (duplicates once); absent keys map to `undefined`. Stale entries within grace are
   * returned unless `allowStale: false`.
   * @example const users = await cache.mget(['user:1', 'user:2'])
   */
  async mget<T = unknown>(keys: Iterable<string>, options?: Pick<ReadOptions, 'allowStale'>): Promise<Map<string, T | undefined>> {
    const unique = this.#checkKeys(keys, 'mget')
    const { result, missing, stale } = await this.#lookupMany(unique)
    const allowStale = options?.allowStale !== false
    for (const key of missing) {
      const hit = stale.get(key)
      if (hit !== undefined && allowStale) {
        result.set(key, hit.value)
        this.#served(key, hit.source, 'no-loader')
      } else this.#record(MISS, key)
    }
    return result as Map<string, T | undefined>
  }

  /**
   * Like `mget`, then calls `batchLoader` once with the keys still missing (de-duplicated,
   * and not already being loaded by another call), caches what it returns in one batch,
   * and caches `null` for keys it left out. If the batch loader fails and every failed key
   * has a stale value within grace (and `staleOnError`), those are returned instead.
   * @example
   * ```ts
   * const users = await cache.mgetOrLoad(ids, async (missing) => new Map((await db.users.findMany(missing)).map((u) => [u.id, u])))
   * ```
   */
  async mgetOrLoad<T>(keys: Iterable<string>, batchLoader: BatchLoader<T>, options?: LoadOptions): Promise<Map<string, T | null>> {
    if (typeof batchLoader !== 'function') {
      throw new InvalidOptionError(`mgetOrLoad: batchLoader must be a function; got ${describe(batchLoader)}`, { option: 'batchLoader', namespace: this.namespace })
    }
    const unique = this.#checkKeys(keys, 'mgetOrLoad')
    const { result } = await this.#loadMany(unique, batchLoader, options)
    return result as Map<string, T | null>
  }

  /**
   * Fills the cache for `keys` ahead of traffic: keys already cached are left alone, the rest
   * go to `batchLoader` in chunks of `chunkSize` (default 100). Its keys count in `stats()` as
   * requests, like those of `mgetOrLoad`.
   * @returns how many keys were requested, loaded, and already cached
   * @example await cache.warmup(topProductIds, loadProducts)
   */
  async warmup<T>(
    keys: Iterable<string>,
    batchLoader: BatchLoader<T>,
    options: LoadOptions & { chunkSize?: number } = {},
  ): Promise<{ keys: number; loaded: number; cached: number }> {
    if (typeof batchLoader !== 'function') {
      throw new InvalidOptionError(`warmup: batchLoader must be a function; got ${describe(batchLoader)}`, { option: 'batchLoader', namespace: this.namespace })
    }
    const chunkSize = checkPositive(options.chunkSize, 'chunkSize', 100, true)
    const { chunkSize: _chunkSize, ...loadOptions } = options
    const unique = this.#checkKeys(keys, 'warmup')
    let loaded = 0
    for (let i = 0; i < unique.length; i += chunkSize) {
      loaded += (await this.#loadMany(unique.slice(i, i + chunkSize), batchLoader, { ...loadOptions, allowStale: false })).loaded
    }
    return { keys: unique.length, loaded, cached: unique.length - loaded }
  }

  // ---------------------------------------------------------------- writes

  /**
   * Stores a value in every tier (shared tiers first, then L1). `undefined` is refused
   * (`E_INVALID_VALUE`; use `null`); a value the serializer cannot encode is refused
   * (`E_UNSERIALIZABLE`) and nothing is written. A failing L2 write does not reject: it is
   * counted in `stats().l2WriteErrors` and reported through `onEvent`.
   * @example await cache.set('user:1', user, { ttl: '10m' })
   */
  async set(key: string, value: unknown, options?: WriteOptions): Promise<void> {
    this.#checkKey(key, 'set')
    if (value === undefined) {
      throw new InvalidValueError(`set: value for key ${describe(key)} is undefined; store null to cache absence`, { namespace: this.namespace, key })
    }
    const ttl = checkTtl(options?.ttl, 'ttl', this.#ttl)
    const tags = checkTags(options?.tags, 'tags')
    await this.#write([{ key, value, ttl, tags }], 'set', undefined, true)
  }

  /**
   * Stores many entries: one pipeline per shared tier. Every key and value is checked (and
   * serialized) before anything is written.
   * @example await cache.mset([['a', 1], ['b', 2]], { ttl: '1m' })
   */
  async mset(entries: Iterable<readonly [string, unknown]>, options?: WriteOptions): Promise<void> {
    const ttl = checkTtl(options?.ttl, 'ttl', this.#ttl)
    const tags = checkTags(options?.tags, 'tags')
    if (entries === null || typeof entries !== 'object' || typeof (entries as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new InvalidOptionError(`mset: entries must be an iterable of [key, value] pairs (an array or a Map); got ${describe(entries)}`, { option: 'entries', namespace: this.namespace })
    }
    const byKey = new Map<string, unknown>()
    for (const pair of entries) {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new InvalidOptionError(`mset: each entry must be a [key, value] pair; got ${describe(pair)}`, { option: 'entries', namespace: this.namespace })
      }
      const [key, value] = pair as [string, unknown]
      this.#checkKey(key, 'mset')
      if (value === undefined) {
        throw new InvalidValueError(`mset: value for key ${describe(key)} is undefined; store null to cache absence`, { namespace: this.namespace, key })
      }
      byKey.set(key, value)
    }
    await this.#write([...byKey].map(([key, value]) => ({ key, value, ttl, tags })), 'mset', undefined, true)
  }

  /**
   * Removes a key from every tier.
   * @example await cache.delete('user:1')
   */
  async delete(key: string): Promise<void> {
    this.#checkKey(key, 'delete')
    await this.#remove([key], 'delete')
  }

  /**
   * Removes many keys: one DEL per shared tier.
   * @example await cache.mdelete(['user:1', 'user:2'])
   */
  async mdelete(keys: Iterable<string>): Promise<void> {
    await this.#remove(this.#checkKeys(keys, 'mdelete'), 'mdelete')
  }

  /**
   * Removes every entry of this namespace from every tier (SCAN + UNLINK on Redis: other
   * namespaces and other data in the same Redis are untouched).
   * @example await cache.clear()
   */
  async clear(): Promise<void> {
    this.#checkOpen('clear')
    this.#epoch++
    for (const flight of this.#flights.values()) flight.superseded = true
    await Promise.all(this.#remotes.map((tier) => this.#call(tier, 'clear', NO_TAGS, () => tier.store.clear(this.#keyPrefix), true)))
    this.#flushLocal()
    await this.#sync?.publish({ clear: true })
  }

  /**
   * Removes every entry written with `tag` (in `set`/`mset`/`getOrLoad` options), from every
   * tier and from the L1 of every instance. Costs one SMEMBERS + UNLINK per shared tier and one
   * message; reads pay nothing for tags.
   * @returns how many entries the first shared tier removed (L1-only caches: how many L1 entries)
   * @example
   * ```ts
   * await cache.set('product:1', p, { tags: ['catalog', 'brand:acme'] })
   * await cache.deleteByTag('brand:acme')
   * ```
   */
  async deleteByTag(tag: string): Promise<number> {
    this.#checkOpen('deleteByTag')
    checkTags([tag], 'tag')
    this.#checkTagSupport('deleteByTag')
    const removed = await Promise.all(this.#remotes.map((tier) => this.#call(tier, 'deleteByTag', [tag], () => tier.store.deleteTag!(this.#tagPrefix + tag), true)))
    const local = this.#dropTagged([tag])
    await this.#sync?.publish({ tags: [tag] })
    const first = removed[0]
    return first === undefined ? local : first === FAILED ? 0 : first
  }

  /**
   * The raw Redis Streams of the first shared tier (the reference design's stream API), over TCP
   * or HTTP. Stream keys are used as given.
   * @example
   * ```ts
   * await cache.streams.publish('events', { type: 'signup', id: '42' }, { maxLen: 1000 })
   * const newest = await cache.streams.readLatest('events', 10)
   * const next = await cache.streams.read('events', { after: newest[0]!.id, count: 100, block: 5000 })
   * ```
   */
  get streams(): {
    publish(stream: string, fields: Record<string, string>, options?: { maxLen?: number }): Promise<string>
    readLatest(stream: string, count?: number): Promise<StreamEntry[]>
    read(stream: string, options?: { after?: string; count?: number; block?: number }): Promise<StreamEntry[]>
  } {
    const ops = this.#remotes.find((tier) => tier.store.streams !== undefined)?.store.streams
    const need = (operation: string) => {
      this.#checkOpen(`streams.${operation}`)
      if (ops === undefined) throw new UnsupportedError(`streams.${operation}: no shared tier of '${this.namespace}' supports Redis Streams (use redis() or upstash())`, { namespace: this.namespace })
      return ops
    }
    const checkStream = (stream: unknown, operation: string): string => {
      if (typeof stream !== 'string' || stream.length === 0) throw new InvalidKeyError(`streams.${operation}: stream must be a non-empty string; got ${describe(stream)}`, { namespace: this.namespace })
      return stream
    }
    const count = (value: unknown, option: string, fallback: number): number => checkPositive(value, option, fallback, true)
    return {
      publish: async (stream, fields, options) => {
        const run = need('publish')
        checkStream(stream, 'publish')
        if (fields === null || typeof fields !== 'object' || Object.keys(fields).length === 0 || !Object.values(fields).every((v) => typeof v === 'string')) {
          throw new InvalidOptionError('streams.publish: fields must be a non-empty object of string values', { option: 'fields', namespace: this.namespace })
        }
        return run.add(stream, fields, count(options?.maxLen, 'maxLen', 10_000))
      },
      readLatest: async (stream, n) => need('readLatest').latest(checkStream(stream, 'readLatest'), count(n, 'count', 10)),
      read: async (stream, options = {}) => {
        const run = need('read')
        const block = options.block === undefined ? undefined : checkDuration(options.block, 'block', 0)
        return run.read(checkStream(stream, 'read'), { after: options.after ?? '$', count: count(options.count, 'count', 100), ...(block !== undefined ? { block } : {}) })
      },
    }
  }

  /**
   * Resolves once the invalidation listener (Pub/Sub) is subscribed, or its attempt failed
   * (it is retried on later calls). Reads and writes do not need to wait for it.
   * @example await cache.ready()
   */
  async ready(): Promise<void> {
    await this.#sync?.ready()
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * A snapshot of the counters; every request is counted exactly once.
   * @example const { hitRate, tiers } = cache.stats()
   */
  stats(): CacheStats {
    const tiers: Record<string, TierStats> = {}
    let hits = 0
    this.#tierNames.forEach((name, index) => {
      const tierHits = this.#tierHits[index]! + (index === 0 && this.#l1 !== undefined ? this.#l1Hits : 0)
      const reached = this.#requests - hits // requests the tiers above did not answer
      hits += tierHits
      const label = this.#l1 !== undefined ? `l${index + 1}` : `l${index + 2}`
      const breaker = this.#remotes.find((tier) => tier.index === index)?.breaker
      tiers[label] = {
        name, hits: tierHits, misses: this.#tierMisses[index]!, hitRate: reached > 0 ? tierHits / reached : 0,
        circuit: breaker?.state ?? 'closed', circuitOpened: breaker?.opened ?? 0,
        ...(index === 0 && this.#l1 !== undefined ? { entries: this.#l1.size } : {}),
      }
    })
    return {
      namespace: this.namespace,
      requests: this.#requests,
      hits,
      misses: this.#misses,
      hitRate: this.#requests === 0 ? 0 : hits / this.#requests,
      tiers,
      promotions: this.#promotions,
      loads: this.#loads,
      loadErrors: this.#loadErrors,
      loadTimeouts: this.#loadTimeouts,
      inflightLoads: this.#inflight,
      coalesced: this.#coalesced,
      coalescedReads: this.#coalescedReads,
      locks: { acquired: this.#locksAcquired, waits: this.#lockWaits, peerHits: this.#lockPeerHits },
      corrupt: this.#corrupt,
      l2Errors: this.#l2Errors,
      l2Timeouts: this.#l2Timeouts,
      l2Skipped: this.#l2Skipped,
      l2WriteErrors: this.#l2WriteErrors,
      staleServed: this.#staleServed,
      refreshes: { attempts: this.#refreshAttempts, successes: this.#refreshSuccesses, failures: this.#refreshFailures },
      sets: this.#sets,
      deletes: this.#deletes,
      invalidation: this.#sync?.stats() ?? {
        transport: 'off', published: 0, publishFailures: 0, received: 0, applied: 0, receiveFailures: 0, flushes: 0, polls: 0,
        pollFailures: 0, subscriptions: 0, cursorLagMs: 0, listening: false,
      },
    }
  }

  /**
   * How the cache is configured and whether its parts work: resolved options, tiers and their
   * readiness, the invalidation transport, its listener, stream and cursor lag. Holds no values,
   * keys or secrets (store endpoints lose their credentials).
   * @example console.log(JSON.stringify(cache.diagnostics(), null, 2))
   */
  diagnostics(): Diagnostics {
    const settings = this.#settings
    const tiers = this.#tierNames.map((name, index): Diagnostics['tiers'][number] => {
      const label = this.#labelOf(index)
      const l1 = this.#l1
      if (index === 0 && l1 !== undefined) {
        return { label, kind: 'l1', store: name, ready: true, circuit: 'closed', ttlScale: this.#l1Scale, promote: true, entries: l1.size, maxTtl: l1.maxTtl }
      }
      const tier = this.#remotes.find((t) => t.index === index)!
      let described: { endpoint?: string; connected?: boolean } = {}
      try {
        described = tier.store.describe?.() ?? {}
      } catch {
        // a store that cannot describe itself is reported without endpoint
      }
      const circuit = tier.breaker?.state ?? 'closed'
      return {
        label, kind: 'l2', store: name,
        ready: circuit === 'closed' && (tier.breaker?.failures ?? 0) === 0 && described.connected !== false,
        circuit, ttlScale: tier.scale, promote: tier.promote,
        ...(typeof described.endpoint === 'string' ? { endpoint: redactSecrets(described.endpoint) } : {}),
        ...(typeof described.connected === 'boolean' ? { connected: described.connected } : {}),
      }
    })
    const sync = this.#sync
    const inval = sync?.stats()
    return {
      namespace: this.namespace,
      prefix: settings.prefix,
      closed: this.#closed,
      config: {
        ttl: this.#ttl,
        nullTtl: this.#nullTtl,
        grace: this.#grace,
        jitter: this.#jitter,
        staleWhileRevalidate: this.#swr,
        refreshAhead: this.#refreshAhead > 0 ? this.#refreshAhead : false,
        staleOnError: this.#staleOnError,
        loaderTimeout: { soft: this.#softTimeout > 0 ? this.#softTimeout : false, hard: this.#hardTimeout > 0 ? this.#hardTimeout : false },
        l2Timeout: this.#l2Timeout > 0 ? this.#l2Timeout : false,
        circuitBreaker: settings.breaker === undefined ? false : { ...settings.breaker },
        lock: this.#lease > 0 ? { lease: this.#lease } : false,
        maxKeyLength: this.#maxKeyLength,
        serializer: this.#serializer === defaultSerializer ? 'default' : 'custom',
        clock: this.#systemTime ? 'system' : isCoarseClock(this.#clock) ? 'coarse' : 'custom',
        onEvent: this.#onEvent !== undefined,
        waitUntil: this.#waitUntil !== undefined,
      },
      loader: this.#loader !== undefined,
      tiers,
      invalidation: {
        configured: settings.invalidation.transport,
        transport: inval?.transport ?? 'off',
        listens: sync !== undefined && this.#l1 !== undefined,
        listening: inval?.listening ?? false,
        ...(sync !== undefined ? { stream: settings.stream, channel: settings.stream } : {}),
        pollInterval: settings.invalidation.pollInterval,
        streamMaxLen: settings.invalidation.streamMaxLen,
        ...(sync?.cursor !== undefined ? { cursor: sync.cursor } : {}),
        cursorLagMs: inval?.cursorLagMs ?? 0,
        unsent: sync?.unsent ?? 0,
      },
      inflight: { flights: this.#flights.size, loads: this.#inflight, background: this.#background.size, tagIndex: this.#tagIndexSize },
      instrumented: this.#instruments !== undefined,
    }
  }

  /**
   * The counters and gauges of `stats()` as OpenTelemetry-shaped points (`tiercache.requests`,
   * `tiercache.tier.hits` with a `tier` attribute, …), each with a `namespace` attribute.
   * @example for (const p of cache.otelMetricPoints()) console.log(p.name, p.attributes, p.value)
   */
  otelMetricPoints(): MetricPoint[] {
    return metricPoints(this.stats())
  }

  /**
   * The counters in the Prometheus text exposition format (`tiercache_<name>_total`, gauges,
   * and once the cache is instrumented the `tiercache_operation_duration_seconds` histogram),
   * with HELP and TYPE lines. Serve it with content type `PROMETHEUS_CONTENT_TYPE`.
   * @example app.get('/metrics', (c) => c.text(cache.prometheus()))
   */
  prometheus(): string {
    return prometheusText([{ stats: this.stats(), latency: this.latency() }])
  }

  /**
   * Operation latency histograms, one per operation × answering tier × result; empty until the
   * cache is instrumented (`instrument()`, the OpenTelemetry integration, the dashboard).
   */
  latency(): LatencySeries[] {
    return this.#instruments?.latency() ?? []
  }

  /**
   * Times every operation (get, getOrLoad, mget, mgetOrLoad, set, mset, delete, mdelete and
   * each loader call) and hands it to `observer`: the OpenTelemetry integration and the
   * dashboard use this. Until the first call nothing of it runs: an uninstrumented cache runs
   * no timing code, not even a check, on its L1 hit path. Once instrumented, each operation
   * costs two clock reads and a small record.
   * @returns a function that detaches the observer (timing goes on for `latency()`)
   * @example const detach = cache.instrument({ end: (_, r) => console.log(r.operation, r.tier, r.seconds) })
   */
  instrument(observer: Observer = {}): () => void {
    this.#instruments ??= new Instruments(this, this.namespace)
    return this.#instruments.add(observer)
  }

  /**
   * Waits for background work, closes the tiers (stores close only what they opened
   * themselves), and refuses further calls with `E_CLOSED`. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#sync?.close()
    await Promise.allSettled([...this.#background])
    await Promise.allSettled([...this.#flights.values()].map((f) => f.promise))
    if (this.#l1 !== undefined) {
      this.#l1.clear()
      this.#l1.owner = undefined
    }
    await Promise.all(this.#remotes.map((tier) => tier.store.close?.()))
    this.#deadlines?.clear()
  }

  // ---------------------------------------------------------------- internals

  #keyOrClosedError(key: unknown, operation: string): TierCacheError {
    if (this.#closed) return new ClosedError(`${operation}: the cache '${this.namespace}' is closed`, { namespace: this.namespace })
    const why = typeof key !== 'string' ? `got ${describe(key)}`
      : key.length === 0 ? 'got an empty string'
      : `got ${key.length} characters (maxKeyLength is ${this.#maxKeyLength})`
    return new InvalidKeyError(
      `${operation}: key must be a non-empty string of at most ${this.#maxKeyLength} characters; ${why}`,
      { namespace: this.namespace, key: typeof key === 'string' ? key.slice(0, 100) : undefined },
    )
  }

  #checkKey(key: unknown, operation: string): asserts key is string {
    if (typeof key !== 'string' || key.length === 0 || key.length > this.#maxKeyLength || this.#closed) {
      throw this.#keyOrClosedError(key, operation)
    }
  }

  #checkOpen(operation: string): void {
    if (this.#closed) throw new ClosedError(`${operation}: the cache '${this.namespace}' is closed`, { namespace: this.namespace })
  }

  #checkKeys(keys: Iterable<string>, operation: string): string[] {
    this.#checkOpen(operation)
    if (keys === null || typeof keys !== 'object' || typeof (keys as Iterable<string>)[Symbol.iterator] !== 'function') {
      throw new InvalidKeyError(`${operation}: keys must be an iterable of strings (an array or a Set); got ${describe(keys)}`, { namespace: this.namespace })
    }
    const unique = new Set<string>()
    for (const key of keys) {
      this.#checkKey(key, operation)
      unique.add(key)
    }
    return [...unique]
  }

  #emit(event: CacheEvent): void {
    if (this.#onEvent === undefined) return
    try {
      this.#onEvent(event)
    } catch {
      // a listener's failure must not become the cache's failure
    }
  }

  /** Counts one request answered by a fresh L1 entry (the inline hit paths). */
  #l1Hit(key: string): void {
    this.#requests++
    this.#l1Hits++
    if (this.#onEvent !== undefined) this.#emit({ type: 'hit', namespace: this.namespace, key, tier: 'l1', stale: false })
  }

  /** Counts one request answered by tier `source`, or a miss (MISS, or LOADED when a loader filled it). */
  #record(source: number, key: string, status?: RequestStatus, stale = false): void {
    this.#requests++
    if (source >= 0) this.#tierHits[source]!++
    else this.#misses++
    if (status !== undefined) status.tier = source >= 0 ? this.#labelOf(source) : source === LOADED ? 'loader' : 'none'
    if (this.#onEvent !== undefined) {
      this.#emit(source >= 0
        ? { type: 'hit', namespace: this.namespace, key, tier: this.#labelOf(source), stale }
        : { type: 'miss', namespace: this.namespace, key, loaded: source === LOADED })
    }
  }

  /** The stats label of tier index `index`: `l1` is the in-process tier; shared tiers count from `l2`. */
  #labelOf(index: number): string {
    return this.#l1 !== undefined ? `l${index + 1}` : `l${index + 2}`
  }

  /** Records a request answered with a stale value. */
  #served(key: string, source: number, reason: StaleEvent['reason'], status?: RequestStatus): void {
    this.#record(source, key, status, true)
    if (status !== undefined) status.stale = reason
    this.#staleServed++
    this.#emit({ type: 'stale', namespace: this.namespace, key, reason })
  }

  #track(promise: Promise<unknown>): void {
    this.#background.add(promise)
    const remove = (): boolean => this.#background.delete(promise)
    promise.then(remove, remove)
    this.#waitUntil?.(promise)
  }

  /**
   * Runs a tier operation within l2Timeout and through the tier's circuit breaker; a failure
   * or a skipped call is counted, reported, and returned as FAILED. Never rejects.
   */
  #call<T>(tier: RemoteTier, operation: string, keys: readonly string[] | (() => readonly string[]), run: () => Promise<T>, write: boolean): Promise<T | typeof FAILED> {
    return new Promise((resolve) => this.#callInto(tier, operation, keys, run, write, resolve))
  }

  /**
   * `#call` handing its result to `deliver`, exactly once, instead of settling a promise of its
   * own: whichever comes first, the operation or its time limit, delivers.
   */
  #callInto<T>(
    tier: RemoteTier,
    operation: string,
    keys: readonly string[] | (() => readonly string[]),
    run: () => Promise<T>,
    write: boolean,
    deliver: (result: T | typeof FAILED) => void,
  ): void {
    const breaker = tier.breaker
    if (breaker !== undefined && !breaker.allow()) {
      this.#l2Skipped++
      deliver(this.#failed(tier, operation, keys, write, new Error(`circuit open after repeated failures; skipped`), false, true))
      return
    }
    let pending: Promise<T>
    try {
      pending = run()
    } catch (error) {
      pending = Promise.reject(error)
    }
    const timeout = this.#l2Timeout
    if (timeout <= 0) {
      pending.then((result) => {
        breaker?.success()
        deliver(result)
      }, (cause: unknown) => {
        breaker?.failure()
        deliver(this.#failed(tier, operation, keys, write, cause, false, false))
      })
      return
    }
    let late = false
    const expire = (): void => {
      late = true
      breaker?.failure()
      this.#l2Timeouts++
      deliver(this.#failed(tier, operation, keys, write, new L2TimeoutError(operation, timeout, { namespace: this.namespace }), true, false))
    }
    const deadlines = this.#deadlines
    const limit = deadlines === undefined ? setTimeout(expire, timeout) : deadlines.add(expire)
    pending.then((result) => {
      if (late) return
      endLimit(deadlines, limit)
      breaker?.success()
      deliver(result)
    }, (cause: unknown) => {
      if (late) return
      endLimit(deadlines, limit)
      breaker?.failure()
      deliver(this.#failed(tier, operation, keys, write, cause, false, false))
    })
  }

  #failed(tier: RemoteTier, operation: string, keys: readonly string[] | (() => readonly string[]), write: boolean, cause: unknown, timeout: boolean, skipped: boolean): typeof FAILED {
    this.#l2Errors++
    if (write) this.#l2WriteErrors++
    if (this.#onEvent === undefined) return FAILED
    const error = new L2Error(tier.store.name, operation, { cause, namespace: this.namespace })
    this.#emit({ type: 'l2:error', namespace: this.namespace, tier: tier.label, operation, keys: typeof keys === 'function' ? keys() : keys, timeout, skipped, error })
    return FAILED
  }

  #ttlWithJitter(ttl: number): number {
    if (this.#jitter === 0) return ttl
    return Math.max(1, Math.round(ttl * (1 + this.#jitter * (2 * Math.random() - 1))))
  }

  #refreshAt(expiresAt: number, ttl: number): number {
    return this.#refreshAhead > 0 ? expiresAt - ttl * this.#refreshAhead : Number.POSITIVE_INFINITY
  }

  #setL1(key: string, value: unknown, expiresAt: number, staleUntil: number, refreshAt: number, now: number, tags: readonly string[] | undefined): void {
    const l1 = this.#l1
    if (l1 === undefined) return
    const cap = l1.maxTtl > 0 ? now + l1.maxTtl : Number.POSITIVE_INFINITY
    const entry: L1Entry = tags !== undefined && tags.length > 0
      ? { value, expiresAt: Math.min(expiresAt, cap), staleUntil: Math.min(staleUntil, cap), refreshAt, tags }
      : { value, expiresAt: Math.min(expiresAt, cap), staleUntil: Math.min(staleUntil, cap), refreshAt }
    if (entry.staleUntil > now) {
      l1.set(key, entry)
      if (entry.tags !== undefined) this.#indexTags(key, entry.tags)
    } else l1.delete(key)
  }

  /** Decodes a stored string; `undefined` when past its grace; a foreign or corrupt one is counted and reported. */
  #decode(tier: RemoteTier, key: string, raw: string, now: number): Hit | undefined {
    const envelope = decodeEnvelope(raw)
    if (envelope !== undefined) {
      if (envelope.staleUntil <= now && envelope.expiresAt <= now) return undefined
      try {
        const value = this.#serializer.deserialize(envelope.payload)
        const { expiresAt } = envelope
        const staleUntil = envelope.staleUntil > expiresAt ? envelope.staleUntil : expiresAt
        const refreshAt = this.#refreshAt(expiresAt, envelope.ttl)
        return envelope.tags.length > 0
          ? { value, expiresAt, staleUntil, refreshAt, raw, source: tier.index, tags: envelope.tags }
          : { value, expiresAt, staleUntil, refreshAt, raw, source: tier.index }
      } catch {
        // fall through: counted as corrupt
      }
    }
    this.#corrupt++
    this.#emit({ type: 'corrupt', namespace: this.namespace, tier: tier.label, key })
    return undefined
  }

  /** The value of a stored string if it is fresh and well-formed, else NOT_FRESH (then `#decode` says why). */
  #freshValue(raw: string, now: number): unknown {
    const start = freshPayloadStart(raw, now)
    if (start < 0) return NOT_FRESH
    try {
      return this.#serializer === defaultSerializer ? taggedJsonAt(raw, start) : this.#serializer.deserialize(raw.slice(start))
    } catch {
      return NOT_FRESH
    }
  }

  /** Copies a fresh hit at `remotes[at]` into L1 and the shared tiers above it. */
  #promote(key: string, hit: Hit, at: number, now: number): void {
    const tier = this.#remotes[at]!
    // nothing above the first shared tier of a cache without L1: no copy, no promotion
    if (!tier.promote || (at === 0 && this.#l1 === undefined)) return
    this.#promotions++
    this.#setL1(key, hit.value, hit.expiresAt, hit.staleUntil, hit.refreshAt, now, hit.tags)
    if (at === 0 || hit.raw === undefined) return
    const write: L2Write = {
      key: this.#keyPrefix + key,
      value: hit.raw,
      ttl: hit.staleUntil - now,
      ...(hit.tags !== undefined ? { tagKeys: hit.tags.map((tag) => this.#tagPrefix + tag) } : {}),
    }
    for (let i = 0; i < at; i++) {
      const upper = this.#remotes[i]!
      this.#track(this.#call(upper, 'set', [key], () => (write.tagKeys === undefined ? upper.store.set(write.key, write.value, write.ttl) : msetOf(upper.store, [write])), true))
    }
  }

  /** The L1 entry of `key` when it is stale but within grace. */
  #staleInL1(key: string, now: number): Hit | undefined {
    const entry = this.#l1?.get(key)
    if (entry === undefined || entry.expiresAt > now || entry.staleUntil <= now) return undefined
    return { value: entry.value, expiresAt: entry.expiresAt, staleUntil: entry.staleUntil, refreshAt: entry.refreshAt, source: 0, ...(entry.tags ? { tags: entry.tags } : {}) }
  }

  /**
   * A plain read (no loader) with one shared tier and no grace: no flight to join or keep, since
   * there is nothing to load and no stale L1 value to fall back on. Reads of one key in the same
   * tick still share one request (`#coalescedGet`); a write meanwhile cancels the promotion.
   */
  #directGet(key: string, allowStale: boolean, status: RequestStatus | undefined): Promise<unknown> {
    if (this.#l1 !== undefined) this.#tierMisses[0]!++
    if (this.#clock.now() >= this.#pollAt) this.#track(this.#poll())
    const tier = this.#remotes[0]!
    const epoch = this.#epoch
    return this.#coalescedGet(tier, this.#keyPrefix + key).then((raw) => {
      const now = this.#clock.now()
      if (this.#l1 === undefined && typeof raw === 'string') {
        // nothing to promote into: a fresh entry needs only its value
        const value = this.#freshValue(raw, now)
        if (value !== NOT_FRESH) {
          this.#record(tier.index, key, status)
          return value
        }
      }
      const hit = raw === FAILED || raw === null ? undefined : this.#decode(tier, key, raw, now)
      if (hit === undefined) {
        this.#tierMisses[tier.index]!++
        this.#record(MISS, key, status)
        return undefined
      }
      if (hit.expiresAt > now) {
        if (epoch === this.#epoch) this.#promote(key, hit, 0, now)
        this.#record(tier.index, key, status)
        return hit.value
      }
      // expired, within the grace another instance wrote it with
      this.#tierMisses[tier.index]!++
      if (!allowStale) {
        this.#record(MISS, key, status)
        return undefined
      }
      this.#served(key, tier.index, 'no-loader', status)
      return hit.value
    })
  }

  #lookupOrJoin(key: string, resolved: Resolved): Promise<unknown> {
    if (this.#l1 !== undefined) this.#tierMisses[0]!++
    // a due poll rides along with this request's L2 read (same tick: same packet or pipeline)
    if (this.#clock.now() >= this.#pollAt) this.#track(this.#poll())
    const { loader } = resolved
    const existing = this.#flights.get(key)
    const answer = (outcome: Outcome): unknown => {
      if (outcome.stale !== undefined) {
        if (!resolved.allowStale) return this.#awaitFresh(key, resolved)
        this.#served(key, outcome.source, outcome.stale, resolved.status)
        return outcome.value
      }
      this.#record(outcome.source, key, resolved.status)
      return outcome.value
    }
    const fail = (error: unknown): never => {
      this.#record(MISS, key, resolved.status)
      throw error
    }
    if (existing !== undefined && (existing.loads || loader === undefined)) {
      this.#coalesced++
      return existing.promise.then(answer, fail)
    }
    const flight: Flight = { loads: loader !== undefined, superseded: false, promise: undefined as unknown as Promise<Outcome> }
    this.#flights.set(key, flight)
    flight.promise = this.#lookup(key, resolved, flight)
    // the owner's own answer also ends the flight (first, before any joiner's answer)
    return flight.promise.then((outcome) => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key)
      if (outcome.refresh === true && loader !== undefined && !this.#closed) this.#refresh(key, loader, resolved.options)
      return answer(outcome)
    }, (error: unknown) => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key)
      return fail(error)
    })
  }

  /** For a caller that refuses stale values: waits for the refresh in flight, or loads. */
  async #awaitFresh(key: string, resolved: Resolved): Promise<unknown> {
    const refreshing = this.#flights.get(key)
    if (refreshing !== undefined && refreshing.loads) {
      try {
        const outcome = await refreshing.promise
        if (outcome.stale === undefined) {
          this.#record(outcome.source, key, resolved.status)
          return outcome.value
        }
      } catch (error) {
        this.#record(MISS, key, resolved.status)
        throw error
      }
    }
    if (resolved.loader === undefined) {
      this.#record(MISS, key, resolved.status)
      return undefined
    }
    let value: unknown
    try {
      value = await this.#loadWithTimeouts(key, resolved.loader, resolved.options, undefined, undefined)
    } catch (error) {
      this.#record(MISS, key, resolved.status) // a failed load is still one request, counted once
      throw error
    }
    this.#record(LOADED, key, resolved.status)
    return value
  }

  async #lookup(key: string, resolved: Resolved, flight: Flight): Promise<Outcome> {
    const now = this.#clock.now()
    let stale = this.#grace > 0 ? this.#staleInL1(key, now) : undefined
    if (this.#remotes.length > 0) {
      const fullKey = this.#keyPrefix + key
      for (let at = 0; at < this.#remotes.length; at++) {
        const tier = this.#remotes[at]!
        const raw = await this.#coalescedGet(tier, fullKey)
        if (raw === FAILED || raw === null) {
          this.#tierMisses[tier.index]!++
          continue
        }
        const readAt = this.#clock.now()
        const hit = this.#decode(tier, key, raw, readAt)
        if (hit === undefined) {
          this.#tierMisses[tier.index]!++
          continue
        }
        if (hit.expiresAt > readAt) {
          if (!flight.superseded) this.#promote(key, hit, at, readAt)
          return { value: hit.value, source: tier.index, refresh: hit.refreshAt <= readAt }
        }
        this.#tierMisses[tier.index]!++
        if (stale === undefined || hit.staleUntil > stale.staleUntil) stale = hit
      }
    }
    const { loader } = resolved
    if (stale !== undefined && resolved.allowStale && (loader === undefined || this.#swr)) {
      // stale-while-revalidate: answer now; the flight's owner starts one background refresh
      return { value: stale.value, source: stale.source, stale: loader === undefined ? 'no-loader' : 'revalidate', refresh: loader !== undefined }
    }
    if (loader === undefined) return { value: undefined, source: MISS }
    const usable = resolved.allowStale ? stale : undefined
    const value = await this.#loadWithTimeouts(key, loader, resolved.options, flight, usable)
    if (value === SOFT_TIMEOUT || value === LOAD_FAILED) {
      return { value: usable!.value, source: usable!.source, stale: value === SOFT_TIMEOUT ? 'timeout' : 'error' }
    }
    return { value, source: LOADED }
  }

  /**
   * Runs `loader` for one key: validates its result and writes it back (unless the flight was
   * superseded), under the hard timeout; with a stale value at hand, resolves SOFT_TIMEOUT after
   * the soft timeout, or LOAD_FAILED on failure (staleOnError) — the load goes on in the background.
   */
  #loadWithTimeouts(key: string, loader: Loader, options: LoadOptions | undefined, flight: Flight | undefined, stale: Hit | undefined): Promise<unknown> {
    const load = (): Promise<unknown> => this.#runLoader([key], async () => {
      const ctx = new LoadContextImpl(key)
      const returned = loader(key, ctx)
      // a loader that answers synchronously (a computed value) is not awaited: one turn less
      const value = isThenable(returned) ? await returned : returned
      if (value === undefined) {
        throw new LoaderResultError(`loader for key ${describe(key)} returned undefined; return null to cache absence`, { namespace: this.namespace, key })
      }
      if (flight === undefined || !flight.superseded) {
        const ttl = ctx.ttl ?? (value === null ? checkTtl(options?.nullTtl, 'nullTtl', this.#nullTtl) : checkTtl(options?.ttl, 'ttl', this.#ttl))
        const tags = ctx.tags ?? checkTags(options?.tags, 'tags')
        if (tags.length === 0 && this.#writesOne) await this.#writeOne(key, value, ttl, 'set', flight)
        else await this.#write([{ key, value, ttl, tags }], 'set', flight === undefined ? undefined : new Set([flight]))
      }
      return value
    })
    const loading = this.#lockTier === undefined ? load() : this.#lockedLoad(key, load)
    if (this.#hardTimeout <= 0 && (stale === undefined || this.#softTimeout <= 0)) {
      // nothing to race: the caller waits for the load itself
      return stale !== undefined && this.#staleOnError ? loading.catch(() => LOAD_FAILED) : loading
    }
    return this.#raceLoad(key, loading, stale)
  }

  /** The load against its hard timeout, and against the soft timeout when a stale value is at hand. */
  async #raceLoad(key: string, loading: Promise<unknown>, stale: Hit | undefined): Promise<unknown> {
    loading.catch(noop) // the caller may have moved on (timeouts); failures are counted in #runLoader
    const timers: ReturnType<typeof setTimeout>[] = []
    const racers: Promise<unknown>[] = [loading]
    if (this.#hardTimeout > 0) {
      racers.push(new Promise((_, reject) => {
        timers.push(setTimeout(() => {
          this.#loadTimeouts++
          this.#emit({ type: 'load:timeout', namespace: this.namespace, keys: [key], timeout: this.#hardTimeout })
          reject(new LoaderTimeoutError(this.#hardTimeout, { namespace: this.namespace, key }))
        }, this.#hardTimeout))
      }))
    }
    if (stale !== undefined && this.#softTimeout > 0) {
      racers.push(new Promise((resolve) => timers.push(setTimeout(() => resolve(SOFT_TIMEOUT), this.#softTimeout))))
    }
    try {
      const result = racers.length === 1 ? await loading : await Promise.race(racers)
      if (result === SOFT_TIMEOUT) this.#track(loading.catch(noop))
      return result
    } catch (error) {
      if (stale !== undefined && this.#staleOnError) {
        if (error instanceof LoaderTimeoutError) this.#track(loading.catch(noop))
        return LOAD_FAILED
      }
      throw error
    } finally {
      for (const timer of timers) clearTimeout(timer)
    }
  }

  /**
   * Runs `load` holding the key's cross-instance lock, or returns the value another instance
   * loaded while this one waited. The lock is released after the write-back, so a waiter that
   * sees the lock gone finds the value.
   */
  async #lockedLoad(key: string, load: () => Promise<unknown>): Promise<unknown> {
    const tier = this.#lockTier!
    const lockKey = this.#lockPrefix + key
    const fullKey = this.#keyPrefix + key
    const token = crypto.randomUUID()
    let delay = 5
    let held = false
    for (;;) {
      // one round trip: SET NX first, then the read (a write that preceded a release is visible)
      const [acquired, raw] = await Promise.all([
        this.#call(tier, 'lock', [key], () => tier.store.lock!(lockKey, token, this.#lease), false),
        this.#coalescedGet(tier, fullKey),
      ])
      const now = this.#clock.now()
      const hit = raw === FAILED || raw === null ? undefined : this.#decode(tier, key, raw, now)
      // a peer's value counts if it is fresh and not itself due for a refresh
      if (hit !== undefined && hit.expiresAt > now && hit.refreshAt > now) {
        if (acquired === true) await this.#call(tier, 'unlock', [key], () => tier.store.unlock!(lockKey, token), true)
        this.#lockPeerHits++
        this.#setL1(key, hit.value, hit.expiresAt, hit.staleUntil, hit.refreshAt, now, hit.tags)
        return hit.value
      }
      if (acquired === true) {
        held = true
        this.#locksAcquired++
        break
      }
      if (acquired === FAILED || this.#closed) break // the tier is unreachable: load without the lock
      this.#lockWaits++
      await new Promise((resolve) => setTimeout(resolve, delay))
      delay = Math.min(delay * 2, 100)
    }
    try {
      return await load()
    } finally {
      if (held) await this.#call(tier, 'unlock', [key], () => tier.store.unlock!(lockKey, token), true)
    }
  }

  /**
   * Queues a single read; every read queued in the same tick goes out as one MGET (one
   * pipeline over HTTP) when the tick ends, under one time limit. Never rejects: a failed or
   * skipped read resolves FAILED (counted once per batch).
   */
  #coalescedGet(tier: RemoteTier, fullKey: string): Promise<string | null | typeof FAILED> {
    const pending = tier.pending
    if (pending.size === 0) queueMicrotask(tier.flush)
    return new Promise((resolve) => {
      const waiting = pending.get(fullKey)
      if (waiting === undefined) {
        pending.set(fullKey, resolve) // most keys have one reader: no array
        tier.lastPending = fullKey
      } else if (typeof waiting === 'function') pending.set(fullKey, [waiting, resolve])
      else waiting.push(resolve)
    })
  }

  #flushGets(tier: RemoteTier): void {
    const pending = tier.pending
    if (pending.size === 1) {
      // the common lone read: no batch arrays
      const fullKey = tier.lastPending
      const waiting = pending.get(fullKey)!
      pending.delete(fullKey) // not clear(): V8 gives a cleared Map a new table
      const deliver: Reader = typeof waiting === 'function' ? waiting : (raw) => deliverAll(waiting, raw)
      this.#callInto(tier, 'get', () => [fullKey.slice(this.#keyPrefix.length)], () => tier.store.get(fullKey), false, deliver)
      return
    }
    const fullKeys = new Array<string>(pending.size)
    const waiting = new Array<Reader | Reader[]>(pending.size)
    let n = 0
    for (const [fullKey, readers] of pending) {
      fullKeys[n] = fullKey
      waiting[n++] = readers
    }
    pending.clear()
    this.#coalescedReads += n - 1
    const keys = (): string[] => fullKeys.map((fullKey) => fullKey.slice(this.#keyPrefix.length))
    this.#callInto(tier, 'mget', keys, () => mgetOf(tier.store, fullKeys), false, (raws) => {
      for (let i = 0; i < n; i++) {
        const raw = raws === FAILED ? FAILED : (raws[i] ?? null)
        const readers = waiting[i]!
        if (typeof readers === 'function') readers(raw)
        else deliverAll(readers, raw)
      }
    })
  }

  /** Starts one background load of `key` unless one is already running; never throws. */
  #refresh(key: string, loader: Loader, options: LoadOptions | undefined): void {
    const existing = this.#flights.get(key)
    if ((existing !== undefined && existing.loads) || this.#closed) return
    this.#refreshAttempts++
    const flight: Flight = { loads: true, superseded: false, promise: undefined as unknown as Promise<Outcome> }
    this.#flights.set(key, flight)
    flight.promise = this.#loadWithTimeouts(key, loader, options, flight, undefined).then(
      (value) => {
        this.#refreshSuccesses++
        return { value, source: LOADED }
      },
      (error: unknown) => {
        this.#refreshFailures++
        this.#emit({ type: 'refresh:error', namespace: this.namespace, key, error })
        throw error
      },
    )
    const done = (): void => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key)
    }
    flight.promise.then(done, done)
    this.#track(flight.promise.catch(noop))
  }

  async #runLoader<T>(keys: readonly string[], run: () => T | Promise<T>): Promise<T> {
    this.#loads++
    this.#inflight++
    const started = this.#onEvent !== undefined ? performance.now() : 0
    let ok = false
    try {
      const value = await (this.#instruments === undefined ? run() : this.#instruments.load(keys, run))
      ok = true
      return value
    } catch (error) {
      this.#loadErrors++
      this.#emit({ type: 'load:error', namespace: this.namespace, keys, error })
      throw error
    } finally {
      this.#inflight--
      if (this.#onEvent !== undefined) this.#emit({ type: 'load', namespace: this.namespace, keys, durationMs: performance.now() - started, ok })
    }
  }

  /**
   * Looks keys up in L1 then each shared tier (one batch per tier); records each key found
   * fresh. `missing` keys have no fresh value; `stale` holds those with one within grace.
   */
  async #lookupMany(keys: readonly string[]): Promise<{ result: Map<string, unknown>; missing: readonly string[]; stale: Map<string, Hit> }> {
    if (this.#clock.now() >= this.#pollAt) await this.#poll()
    const result = new Map<string, unknown>()
    const stale = new Map<string, Hit>()
    const l1 = this.#l1
    // without L1 every key goes to the first shared tier, in order: the result is filled there
    let missing: readonly string[] = keys
    if (l1 !== undefined) {
      const now = this.#clock.now()
      const remote: string[] = []
      for (const key of keys) {
        result.set(key, undefined)
        const entry = l1.get(key)
        if (entry !== undefined && entry.expiresAt > now) {
          result.set(key, entry.value)
          this.#l1Hit(key)
        } else {
          this.#tierMisses[0]!++
          if (this.#grace > 0) {
            const old = this.#staleInL1(key, now)
            if (old !== undefined) stale.set(key, old)
          }
          remote.push(key)
        }
      }
      missing = remote
    }
    for (let at = 0; at < this.#remotes.length && missing.length > 0; at++) {
      const tier = this.#remotes[at]!
      const fullKeys = missing.map((key) => this.#keyPrefix + key)
      const raws = await this.#call(tier, 'mget', missing, () => mgetOf(tier.store, fullKeys), false)
      const still: string[] = []
      const readAt = this.#clock.now()
      // nothing above this tier to copy a hit into: a fresh entry needs only its value
      const lean = at === 0 && this.#l1 === undefined
      // fresh values found the lean way, counted at the end when nobody listens for each hit
      let leanHits = 0
      const quiet = this.#onEvent === undefined
      for (let i = 0; i < missing.length; i++) {
        const key = missing[i]!
        const raw = raws === FAILED ? null : raws[i]
        if (lean && typeof raw === 'string') {
          const value = this.#freshValue(raw, readAt)
          if (value !== NOT_FRESH) {
            result.set(key, value)
            if (quiet) leanHits++
            else this.#record(tier.index, key)
            continue
          }
        }
        const hit = raw === null || raw === undefined ? undefined : this.#decode(tier, key, raw, readAt)
        if (hit === undefined || hit.expiresAt <= readAt) {
          if (lean) result.set(key, undefined)
          this.#tierMisses[tier.index]!++
          still.push(key)
          const known = stale.get(key)
          if (hit !== undefined && (known === undefined || hit.staleUntil > known.staleUntil)) stale.set(key, hit)
          continue
        }
        result.set(key, hit.value)
        this.#record(tier.index, key)
        const flight = this.#flights.get(key)
        if (flight === undefined || !flight.superseded) this.#promote(key, hit, at, readAt)
      }
      this.#requests += leanHits
      this.#tierHits[tier.index]! += leanHits
      missing = still
    }
    return { result, missing, stale }
  }

  async #loadMany(keys: readonly string[], batchLoader: BatchLoader, options: LoadOptions | undefined): Promise<{ result: Map<string, unknown>; loaded: number }> {
    // options are checked before the lookup, so a bad one fails the call before any key is counted
    const ttl = checkTtl(options?.ttl, 'ttl', this.#ttl)
    const nullTtl = checkTtl(options?.nullTtl, 'nullTtl', this.#nullTtl)
    const tags = checkTags(options?.tags, 'tags')
    const { result, missing, stale } = await this.#lookupMany(keys)
    if (missing.length === 0) return { result, loaded: 0 }
    const allowStale = options?.allowStale !== false

    // keys another call is already loading are joined; the rest are loaded here, in one call
    const joined: [string, Flight][] = []
    const toLoad: string[] = []
    for (const key of missing) {
      const flight = this.#flights.get(key)
      if (flight !== undefined && flight.loads) joined.push([key, flight])
      else toLoad.push(key)
    }
    this.#coalesced += joined.length
    let settle: ((values: Map<string, unknown> | Error) => void) | undefined
    if (toLoad.length > 0) {
      const batch = new Promise<Map<string, unknown>>((resolve, reject) => {
        settle = (values) => (values instanceof Map ? resolve(values) : reject(values))
      })
      const own = new Set<Flight>()
      for (const key of toLoad) {
        const flight: Flight = {
          loads: true,
          superseded: false,
          promise: batch.then((values) => ({ value: values.get(key), source: LOADED })),
        }
        flight.promise.catch(noop) // a waiter may never attach; the error reaches the caller below
        this.#flights.set(key, flight)
        own.add(flight)
        const done = (): void => {
          if (this.#flights.get(key) === flight) this.#flights.delete(key)
        }
        flight.promise.then(done, done)
      }
      try {
        const raw = await this.#runLoader(toLoad, () => batchLoader([...toLoad]))
        const values = normalizeBatch(raw, toLoad, this.namespace)
        const writes = toLoad
          .filter((key) => this.#flights.get(key)?.superseded !== true)
          .map((key) => {
            const value = values.get(key)
            return { key, value, ttl: value === null ? nullTtl : ttl, tags }
          })
        await this.#write(writes, 'mset', own)
        for (const key of toLoad) {
          result.set(key, values.get(key))
          this.#record(LOADED, key)
        }
        settle!(values)
      } catch (error) {
        settle!(error instanceof Error ? error : new Error(String(error)))
        if (allowStale && this.#staleOnError && toLoad.every((key) => stale.has(key))) {
          for (const key of toLoad) {
            const hit = stale.get(key)!
            result.set(key, hit.value)
            this.#served(key, hit.source, 'error')
          }
        } else {
          // the call fails: each of its keys, joined ones included, is one request counted once
          for (const key of toLoad) this.#record(MISS, key)
          for (const [key] of joined) this.#record(MISS, key)
          throw error
        }
      }
    }
    for (let i = 0; i < joined.length; i++) {
      const [key, flight] = joined[i]!
      let outcome: Outcome
      try {
        outcome = await flight.promise
      } catch (error) {
        for (const [rest] of joined.slice(i)) this.#record(MISS, rest) // this key and those not yet awaited
        throw error
      }
      result.set(key, outcome.value)
      if (outcome.stale !== undefined) this.#served(key, outcome.source, outcome.stale)
      else this.#record(outcome.source, key)
    }
    return { result, loaded: toLoad.length }
  }

  /** Serializes every entry, then writes all shared tiers in parallel (one batch each), then L1. */
  async #write(
    entries: readonly { key: string; value: unknown; ttl: number; tags: readonly string[] }[],
    operation: 'set' | 'mset',
    own?: ReadonlySet<Flight>,
    publish = false,
  ): Promise<void> {
    if (entries.length === 0) return
    if (entries.length === 1 && entries[0]!.tags.length === 0 && this.#writesOne && !(publish && this.#sync !== undefined)) {
      const own1 = own === undefined || own.size !== 1 ? undefined : own.values().next().value
      return this.#writeOne(entries[0]!.key, entries[0]!.value, entries[0]!.ttl, operation, own1)
    }
    if (entries.some((entry) => entry.tags.length > 0)) this.#checkTagSupport(operation)
    const now = this.#clock.now()
    const prepared = entries.map((entry) => {
      const ttl = this.#ttlWithJitter(entry.ttl)
      return { ...entry, ttl, payload: this.#remotes.length > 0 ? this.#serialize(entry.key, entry.value) : '' }
    })
    this.#epoch++
    for (const entry of entries) {
      const flight = this.#flights.get(entry.key)
      if (flight !== undefined && own?.has(flight) !== true) flight.superseded = true
    }
    this.#sets += entries.length
    const keys = prepared.map((entry) => entry.key)
    const writing = this.#remotes.map((tier) => {
      const writes: L2Write[] = prepared.map((entry) => {
        const ttl = tierTtl(tier, entry.ttl)
        const value = this.#envelope(now, ttl, entry.tags, entry.payload)
        const key = this.#keyPrefix + entry.key
        return entry.tags.length > 0 ? { key, value, ttl: ttl + this.#grace, tagKeys: entry.tags.map((tag) => this.#tagPrefix + tag) } : { key, value, ttl: ttl + this.#grace }
      })
      const only = writes[0]!
      if (writes.length === 1 && only.tagKeys === undefined) {
        return this.#call(tier, operation, keys, () => tier.store.set(only.key, only.value, only.ttl), true)
      }
      return this.#call(tier, operation, keys, () => msetOf(tier.store, writes), true)
    })
    // issued in the same tick as the writes: on one connection (or one HTTP pipeline) it follows them
    if (publish && this.#sync !== undefined) writing.push(this.#sync.publish({ keys }))
    await Promise.all(writing)
    for (const entry of prepared) this.#setL1Written(entry.key, entry.value, entry.ttl, now, entry.tags)
  }

  /**
   * `#write` of one untagged entry to one shared tier, without the batch's arrays. Not async:
   * its callers are, so a value that cannot be serialized still reaches them as a rejection.
   */
  #writeOne(key: string, value: unknown, ttl: number, operation: 'set' | 'mset', own: Flight | undefined): Promise<void> {
    const now = this.#clock.now()
    const jittered = this.#ttlWithJitter(ttl)
    const payload = this.#serialize(key, value)
    this.#epoch++
    const flight = this.#flights.get(key)
    if (flight !== undefined && flight !== own) flight.superseded = true
    this.#sets++
    const tier = this.#remotes[0]!
    const scaled = tierTtl(tier, jittered)
    const stored = this.#envelope(now, scaled, NO_TAGS, payload)
    const fullKey = this.#keyPrefix + key
    return new Promise((resolve, reject) => {
      this.#callInto(tier, operation, [key], () => tier.store.set(fullKey, stored, scaled + this.#grace), true, () => {
        try {
          this.#setL1Written(key, value, jittered, now, undefined)
          resolve()
        } catch (error) {
          reject(error) // an L1 store of one's own that throws: the caller's rejection, never an unhandled one
        }
      })
    })
  }

  /** The stored string of an entry written `now` with `ttl` on its tier (grace on top). */
  #envelope(now: number, ttl: number, tags: readonly string[], payload: string): string {
    return encodeEnvelope(now + ttl, now + ttl + this.#grace, ttl, tags, payload)
  }

  /** L1's copy of a value just written with `ttl` (before the L1's own scale). */
  #setL1Written(key: string, value: unknown, ttl: number, now: number, tags: readonly string[] | undefined): void {
    const scaled = ttl * this.#l1Scale
    this.#setL1(key, value, now + scaled, now + scaled + this.#grace, this.#refreshAt(now + scaled, scaled), now, tags)
  }

  #serialize(key: string, value: unknown): string {
    try {
      return this.#serializer.serialize(value)
    } catch (cause) {
      const path = cause instanceof UnserializableError ? cause.path : 'value'
      const reason = cause instanceof Error ? cause.message.replace(/^\[tiercache\] /, '') : String(cause)
      throw new UnserializableError(`value for key ${describe(key)} cannot be stored: ${reason}`, path, { namespace: this.namespace, key, cause })
    }
  }

  async #remove(keys: readonly string[], operation: 'delete' | 'mdelete'): Promise<void> {
    if (keys.length === 0) return
    this.#epoch++
    for (const key of keys) {
      const flight = this.#flights.get(key)
      if (flight !== undefined) flight.superseded = true
    }
    this.#deletes += keys.length
    const fullKeys = keys.map((key) => this.#keyPrefix + key)
    const deleting: Promise<unknown>[] = this.#remotes.map((tier) => this.#call(tier, operation, keys, () => tier.store.delete(fullKeys), true))
    // same tick as the deletes: on one connection (or one HTTP pipeline) the message follows them
    if (this.#sync !== undefined) deleting.push(this.#sync.publish({ keys }))
    await Promise.all(deleting)
    const l1 = this.#l1
    if (l1 !== undefined) for (const key of keys) l1.delete(key)
  }

  /** Polls the invalidation stream (concurrent callers share one poll); never throws. */
  #poll(): Promise<void> {
    const sync = this.#sync
    if (sync === undefined) return Promise.resolve()
    // requests during the poll are not due again; the next poll is due pollInterval after this
    // one ends, so a poll slower than pollInterval cannot make a request poll twice
    this.#pollAt = this.#clock.now() + this.#pollInterval
    return sync.poll().then(() => {
      this.#pollAt = Math.max(this.#pollAt, this.#clock.now() + this.#pollInterval)
    })
  }

  /** A message from another instance: drop what changed from this L1. */
  #applyRemote(message: InvalidationMessage): void {
    this.#emit({ type: 'invalidation', namespace: this.namespace, ...message })
    if (message.clear === true) {
      this.#flushLocal()
      return
    }
    const l1 = this.#l1
    this.#epoch++
    for (const key of message.keys ?? []) {
      l1?.delete(key)
      const flight = this.#flights.get(key)
      if (flight !== undefined) flight.superseded = true
    }
    if (message.tags !== undefined) this.#dropTagged(message.tags)
  }

  #flushLocal(): void {
    this.#epoch++
    for (const flight of this.#flights.values()) flight.superseded = true
    this.#l1?.clear()
    this.#tagIndex.clear()
    this.#tagIndexSize = 0
  }

  /** Removes this L1's entries carrying any of `tags`; resolves to how many keys were indexed. */
  #dropTagged(tags: readonly string[]): number {
    let dropped = 0
    for (const tag of tags) {
      const keys = this.#tagIndex.get(tag)
      if (keys === undefined) continue
      this.#tagIndex.delete(tag)
      this.#tagIndexSize -= keys.size
      this.#epoch++
      for (const key of keys) {
        this.#l1?.delete(key)
        const flight = this.#flights.get(key)
        if (flight !== undefined) flight.superseded = true
        dropped++
      }
    }
    return dropped
  }

  #indexTags(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      let keys = this.#tagIndex.get(tag)
      if (keys === undefined) this.#tagIndex.set(tag, (keys = new Set()))
      if (!keys.has(key)) {
        keys.add(key)
        this.#tagIndexSize++
      }
    }
    // evicted L1 entries leave keys behind; prune them once the index outgrows the L1
    const l1 = this.#l1
    if (l1 !== undefined && this.#tagIndexSize > 4 * Math.max(1024, l1.size)) {
      this.#tagIndexSize = 0
      for (const [tag, keys] of this.#tagIndex) {
        for (const k of keys) if (l1.get(k)?.tags?.includes(tag) !== true) keys.delete(k)
        if (keys.size === 0) this.#tagIndex.delete(tag)
        this.#tagIndexSize += keys.size
      }
    }
  }

  #checkTagSupport(operation: string): void {
    const lacking = this.#remotes.find((tier) => tier.store.deleteTag === undefined)
    if (lacking !== undefined) {
      throw new UnsupportedError(`${operation}: the ${lacking.label} store '${lacking.store.name}' does not support tags (redis(), upstash() and memoryStore() do)`, { namespace: this.namespace })
    }
  }
}

function resolveLease(value: unknown): number {
  if (value === undefined || value === false) return 0
  if (value === true) return 5000
  if (value === null || typeof value !== 'object') throw new InvalidOptionError(`lock must be true, false or { lease }; got ${describe(value)}`, { option: 'lock' })
  checkKnown(value, new Set(['lease']), 'lock')
  return checkTtl((value as { lease?: unknown }).lease, 'lock.lease', 5000)
}

function resolveInvalidation(value: unknown): { transport: 'auto' | 'pubsub' | 'stream' | 'off'; pollInterval: number; streamMaxLen: number } {
  if (value === false) return { transport: 'off', pollInterval: 1000, streamMaxLen: 10_000 }
  if (value === undefined) return { transport: 'auto', pollInterval: 1000, streamMaxLen: 10_000 }
  if (value === null || typeof value !== 'object') {
    throw new InvalidOptionError(`invalidation must be { transport?, pollInterval?, streamMaxLen? } or false; got ${describe(value)}`, { option: 'invalidation' })
  }
  checkKnown(value, new Set(['transport', 'pollInterval', 'streamMaxLen']), 'invalidation')
  const options = value as { transport?: unknown; pollInterval?: unknown; streamMaxLen?: unknown }
  const transport = options.transport ?? 'auto'
  if (transport !== 'auto' && transport !== 'pubsub' && transport !== 'stream' && transport !== 'off') {
    throw new InvalidOptionError(`invalidation.transport must be 'auto', 'pubsub', 'stream' or 'off'; got ${describe(transport)}`, { option: 'invalidation.transport' })
  }
  return {
    transport,
    pollInterval: checkTtl(options.pollInterval, 'invalidation.pollInterval', 1000),
    streamMaxLen: checkPositive(options.streamMaxLen, 'invalidation.streamMaxLen', 10_000, true),
  }
}

function resolveBreaker(value: unknown): { failures: number; cooldown: number } | undefined {
  if (value === false) return undefined
  if (value === undefined) return { failures: 5, cooldown: 10_000 }
  if (value === null || typeof value !== 'object') {
    throw new InvalidOptionError(`circuitBreaker must be { failures?, cooldown? } or false; got ${describe(value)}`, { option: 'circuitBreaker' })
  }
  checkKnown(value, new Set(['failures', 'cooldown']), 'circuitBreaker')
  const options = value as { failures?: unknown; cooldown?: unknown }
  return {
    failures: checkPositive(options.failures, 'circuitBreaker.failures', 5, true),
    cooldown: checkTtl(options.cooldown, 'circuitBreaker.cooldown', 10_000),
  }
}

function resolveTiers(options: CacheOptions, defaults: RuntimeDefaults): TierConfig[] {
  if (options.tiers !== undefined) {
    if (options.l1 !== undefined || options.l2 !== undefined) {
      throw new InvalidOptionError('give either tiers or l1/l2, not both', { option: 'tiers' })
    }
    if (!Array.isArray(options.tiers) || options.tiers.length === 0) {
      throw new InvalidOptionError(`tiers must be a non-empty array of { store, ttlScale?, promote? }; got ${describe(options.tiers)}`, { option: 'tiers' })
    }
    return options.tiers.map((tier, index) => {
      const option = `tiers[${index}]`
      if (tier === null || typeof tier !== 'object') throw new InvalidOptionError(`${option} must be { store, ttlScale?, promote? }; got ${describe(tier)}`, { option })
      checkStore(tier.store, `${option}.store`)
      checkPositive(tier.ttlScale, `${option}.ttlScale`, 1)
      if (tier.promote !== undefined && typeof tier.promote !== 'boolean') throw new InvalidOptionError(`${option}.promote must be a boolean`, { option: `${option}.promote` })
      return tier
    })
  }
  const tiers: TierConfig[] = []
  const l1 = options.l1 === undefined ? defaults.l1?.() : options.l1
  if (l1 !== undefined && l1 !== false) {
    checkStore(l1, 'l1')
    if (l1.kind !== 'l1') throw new InvalidOptionError(`l1 must be an L1 store such as lru(); got the ${l1.kind} store '${l1.name}'`, { option: 'l1' })
    tiers.push({ store: l1 })
  }
  const l2 = options.l2 === undefined ? defaults.l2?.() : options.l2
  if (l2 !== undefined && l2 !== false) {
    checkStore(l2, 'l2')
    if (l2.kind !== 'l2') throw new InvalidOptionError(`l2 must be an L2 store such as memoryStore() or redis(); got the ${l2.kind} store '${l2.name}'`, { option: 'l2' })
    tiers.push({ store: l2 })
  }
  if (tiers.length === 0) {
    throw new InvalidOptionError('createCache needs at least one tier: give l1 (e.g. lru()), l2 (e.g. redis()), or tiers', { option: 'tiers' })
  }
  return tiers
}

function checkStore(store: unknown, option: string): void {
  const s = store as { kind?: unknown; get?: unknown } | null
  if (s === null || typeof s !== 'object' || (s.kind !== 'l1' && s.kind !== 'l2') || typeof s.get !== 'function') {
    throw new InvalidOptionError(`${option} must be a store (lru(), memoryStore(), redis(), …); got ${describe(store)}`, { option })
  }
}

function mgetOf(store: L2Store, keys: readonly string[]): Promise<(string | null)[]> {
  return store.mget !== undefined ? store.mget(keys) : Promise.all(keys.map((key) => store.get(key)))
}

async function msetOf(store: L2Store, writes: readonly L2Write[]): Promise<void> {
  if (store.mset !== undefined) return store.mset(writes)
  await Promise.all(writes.map((w) => store.set(w.key, w.value, w.ttl)))
}

function normalizeBatch(raw: unknown, keys: readonly string[], namespace: string): Map<string, unknown> {
  let source: Map<unknown, unknown>
  if (raw instanceof Map) source = raw
  else if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) source = new Map(Object.entries(raw))
  else {
    throw new LoaderResultError(`batch loader must return a Map or a plain object of key → value; got ${describe(raw)}`, { namespace })
  }
  const values = new Map<string, unknown>()
  for (const key of keys) {
    const value = source.get(key)
    values.set(key, value === undefined ? null : value)
  }
  return values
}

/** Exposed for tests of the duration rules used by per-call options. */
export { parseDuration }
export type { CircuitState }
