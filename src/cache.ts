import { systemClock, type Clock, type L1Store, type L2Store, type L2Write } from './contracts.js'
import { describe, parseDuration, Strategy } from './duration.js'
import { decodeEnvelope, encodeEnvelope } from './envelope.js'
import {
  ClosedError, InvalidKeyError, InvalidOptionError, InvalidValueError, L2Error, LoaderResultError,
  TierCacheError, UnserializableError,
} from './errors.js'
import type { CacheEvent, CacheStats, TierStats } from './events.js'
import {
  checkFunction, checkKnown, checkName, checkPositive, checkRatio, checkTags, checkTtl, KNOWN_OPTIONS,
  type BatchLoader, type CacheOptions, type LoadOptions, type Loader, type ReadOptions, type TierConfig,
  type WriteOptions,
} from './options.js'
import { defaultSerializer, type Serializer } from './serializer.js'

/** Tiers a runtime supplies when the caller leaves `l1`/`l2` undefined. */
export interface RuntimeDefaults {
  l1?: () => L1Store
  l2?: () => L2Store
  waitUntil?: (promise: Promise<unknown>) => void
}

interface RemoteTier {
  readonly store: L2Store
  readonly label: string
  /** Index into the stats arrays. */
  readonly index: number
  readonly scale: number
  readonly promote: boolean
}

/** The result of one lookup; `source` is a tier index, MISS or LOADED. */
interface Outcome {
  readonly value: unknown
  readonly source: number
}

interface Flight {
  /** Whether this flight runs a loader (a plain `get` only looks up). */
  readonly loads: boolean
  /** Set when a write or delete of the key happens during the flight: its result is not written back. */
  superseded: boolean
  promise: Promise<Outcome>
}

const MISS = -1
const LOADED = -2
const FAILED: unique symbol = Symbol('failed')
const DEFAULT_NULL_TTL = 30_000
const DEFAULT_MAX_KEY_LENGTH = 1024
const NO_TAGS: readonly string[] = []

/**
 * A multi-level cache. Create one with `createCache`.
 *
 * Reads go L1 → L2 (→ L3 …) → loader; a hit in a deeper tier is copied into the tiers above
 * it with its remaining TTL. Loads are single-flight per key. Writes go to the shared tiers
 * first, then L1.
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
  readonly #serializer: Serializer
  readonly #loader: Loader | undefined
  readonly #maxKeyLength: number
  readonly #clock: Clock
  /** The system clock is read with Date.now() directly: one call less on the L1 hot path. */
  readonly #systemTime: boolean
  readonly #onEvent: ((event: CacheEvent) => void) | undefined
  readonly #waitUntil: ((promise: Promise<unknown>) => void) | undefined
  readonly #flights = new Map<string, Flight>()
  readonly #background = new Set<Promise<unknown>>()
  #closed = false

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
  #inflight = 0
  #coalesced = 0
  #corrupt = 0
  #l2Errors = 0
  #l2WriteErrors = 0
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
    this.#ttl = checkTtl(options.ttl, 'ttl', Strategy.ShortTerm)
    this.#nullTtl = checkTtl(options.nullTtl, 'nullTtl', DEFAULT_NULL_TTL)
    this.#jitter = checkRatio(options.jitter, 'jitter', 0.1)
    this.#maxKeyLength = checkPositive(options.maxKeyLength, 'maxKeyLength', DEFAULT_MAX_KEY_LENGTH, true)
    this.#loader = checkFunction<Loader>(options.loader, 'loader')
    this.#onEvent = checkFunction(options.onEvent, 'onEvent')
    this.#waitUntil = checkFunction(options.waitUntil, 'waitUntil') ?? defaults.waitUntil
    this.#clock = options.clock ?? systemClock
    this.#systemTime = this.#clock === systemClock
    if (typeof this.#clock?.now !== 'function') throw new InvalidOptionError('clock must have a now() method', { option: 'clock' })
    this.#serializer = options.serializer ?? defaultSerializer
    if (typeof this.#serializer?.serialize !== 'function' || typeof this.#serializer.deserialize !== 'function') {
      throw new InvalidOptionError('serializer must have serialize(value) and deserialize(text) methods', { option: 'serializer' })
    }

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
      remotes.push({
        store: tier.store,
        label: `l${remotes.length + 2}`,
        index,
        scale: tier.ttlScale ?? 1,
        promote: tier.promote ?? true,
      })
    })
    this.#remotes = remotes
  }

  // ---------------------------------------------------------------- reads

  /**
   * Reads a value: L1, then each deeper tier, then the configured `loader` (if any, unless
   * `disableLoad`). Resolves to `undefined` on a miss and to `null` for a negative entry.
   * @example const user = await cache.get<User>('user:1')
   */
  get<T = unknown>(key: string, options?: ReadOptions): Promise<T | undefined> {
    if (typeof key !== 'string' || key.length === 0 || key.length > this.#maxKeyLength || this.#closed) {
      return Promise.reject(this.#keyOrClosedError(key, 'get'))
    }
    const l1 = this.#l1
    if (l1 !== undefined) {
      const entry = l1.get(key)
      if (entry !== undefined && entry.expiresAt > (this.#systemTime ? Date.now() : this.#clock.now())) {
        this.#requests++
        this.#l1Hits++
        return Promise.resolve(entry.value as T)
      }
    }
    const loader = options?.disableLoad === true ? undefined : this.#loader
    return this.#lookupOrJoin(key, loader, undefined) as Promise<T | undefined>
  }

  /**
   * Reads a value and, on a miss, calls `loader` once per key however many callers wait
   * (single-flight), caches its result (a `null` result for `nullTtl`) and returns it.
   * A loader error reaches every waiter and is never cached.
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
      if (entry !== undefined && entry.expiresAt > (this.#systemTime ? Date.now() : this.#clock.now())) {
        this.#requests++
        this.#l1Hits++
        return Promise.resolve(entry.value as T)
      }
    }
    return this.#lookupOrJoin(key, loader, options) as Promise<T>
  }

  /**
   * Reads many keys in one round trip per tier. Resolves to a `Map` in the order of `keys`
   * (duplicates once); absent keys map to `undefined`.
   * @example const users = await cache.mget(['user:1', 'user:2'])
   */
  async mget<T = unknown>(keys: Iterable<string>): Promise<Map<string, T | undefined>> {
    const unique = this.#checkKeys(keys, 'mget')
    const { result, missing } = await this.#lookupMany(unique)
    for (let i = 0; i < missing.length; i++) this.#record(MISS)
    return result as Map<string, T | undefined>
  }

  /**
   * Like `mget`, then calls `batchLoader` once with the keys still missing (de-duplicated,
   * and not already being loaded by another call), caches what it returns in one batch,
   * and caches `null` for keys it left out.
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
   * go to `batchLoader` in chunks of `chunkSize` (default 100).
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
    const unique = this.#checkKeys(keys, 'warmup')
    let loaded = 0
    for (let i = 0; i < unique.length; i += chunkSize) {
      loaded += (await this.#loadMany(unique.slice(i, i + chunkSize), batchLoader, options)).loaded
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
    await this.#write([{ key, value, ttl, tags }], 'set')
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
    await this.#write([...byKey].map(([key, value]) => ({ key, value, ttl, tags })), 'mset')
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
    for (const flight of this.#flights.values()) flight.superseded = true
    await Promise.all(this.#remotes.map((tier) => this.#call(tier, 'clear', NO_TAGS, () => tier.store.clear(this.#keyPrefix), true)))
    this.#l1?.clear()
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
      hits += tierHits
      const label = this.#l1 !== undefined ? `l${index + 1}` : `l${index + 2}`
      tiers[label] = { name, hits: tierHits, misses: this.#tierMisses[index]! }
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
      inflightLoads: this.#inflight,
      coalesced: this.#coalesced,
      corrupt: this.#corrupt,
      l2Errors: this.#l2Errors,
      l2WriteErrors: this.#l2WriteErrors,
      sets: this.#sets,
      deletes: this.#deletes,
    }
  }

  /**
   * Waits for background work, closes the tiers (stores close only what they opened
   * themselves), and refuses further calls with `E_CLOSED`. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.allSettled([...this.#background])
    await Promise.allSettled([...this.#flights.values()].map((f) => f.promise))
    if (this.#l1 !== undefined) {
      this.#l1.clear()
      this.#l1.owner = undefined
    }
    await Promise.all(this.#remotes.map((tier) => tier.store.close?.()))
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

  #record(source: number): void {
    this.#requests++
    if (source >= 0) this.#tierHits[source]!++
    else this.#misses++
  }

  #track(promise: Promise<unknown>): void {
    this.#background.add(promise)
    const remove = (): boolean => this.#background.delete(promise)
    promise.then(remove, remove)
    this.#waitUntil?.(promise)
  }

  /** Runs a tier operation; a failure is counted, reported, and returned as FAILED. */
  async #call<T>(tier: RemoteTier, operation: string, keys: readonly string[], run: () => Promise<T>, write: boolean): Promise<T | typeof FAILED> {
    try {
      return await run()
    } catch (cause) {
      this.#l2Errors++
      if (write) this.#l2WriteErrors++
      const error = new L2Error(tier.store.name, operation, { cause, namespace: this.namespace })
      this.#emit({ type: 'l2:error', namespace: this.namespace, tier: tier.label, operation, keys, error })
      return FAILED
    }
  }

  #ttlWithJitter(ttl: number): number {
    if (this.#jitter === 0) return ttl
    return Math.max(1, Math.round(ttl * (1 + this.#jitter * (2 * Math.random() - 1))))
  }

  #setL1(key: string, value: unknown, expiresAt: number, now: number): void {
    const l1 = this.#l1
    if (l1 === undefined) return
    const capped = l1.maxTtl > 0 ? Math.min(expiresAt, now + l1.maxTtl) : expiresAt
    if (capped > now) l1.set(key, { value, expiresAt: capped })
    else l1.delete(key)
  }

  /** Decodes a stored string; a foreign or corrupt one is counted and reported as a miss. */
  #decode(tier: RemoteTier, key: string, raw: string, now: number): { value: unknown; raw: string; expiresAt: number } | undefined {
    const envelope = decodeEnvelope(raw)
    if (envelope !== undefined) {
      if (envelope.expiresAt <= now) return undefined
      try {
        return { value: this.#serializer.deserialize(envelope.payload), raw, expiresAt: envelope.expiresAt }
      } catch {
        // fall through: counted as corrupt
      }
    }
    this.#corrupt++
    this.#emit({ type: 'corrupt', namespace: this.namespace, tier: tier.label, key })
    return undefined
  }

  /** Copies a hit at `remotes[at]` into L1 and the shared tiers above it. */
  #promote(key: string, hit: { value: unknown; raw: string; expiresAt: number }, at: number, now: number): void {
    const tier = this.#remotes[at]!
    if (!tier.promote) return
    this.#promotions++
    this.#setL1(key, hit.value, hit.expiresAt, now)
    if (at === 0) return
    const ttl = hit.expiresAt - now
    const fullKey = this.#keyPrefix + key
    for (let i = 0; i < at; i++) {
      const upper = this.#remotes[i]!
      this.#track(this.#call(upper, 'set', [key], () => upper.store.set(fullKey, hit.raw, ttl), true))
    }
  }

  #lookupOrJoin(key: string, loader: Loader | undefined, options: LoadOptions | undefined): Promise<unknown> {
    if (this.#l1 !== undefined) this.#tierMisses[0]!++
    const existing = this.#flights.get(key)
    let flight: Flight
    if (existing !== undefined && (existing.loads || loader === undefined)) {
      this.#coalesced++
      flight = existing
    } else {
      flight = { loads: loader !== undefined, superseded: false, promise: undefined as unknown as Promise<Outcome> }
      this.#flights.set(key, flight)
      flight.promise = this.#lookup(key, loader, options, flight)
      const done = (): void => {
        if (this.#flights.get(key) === flight) this.#flights.delete(key)
      }
      flight.promise.then(done, done)
    }
    return flight.promise.then(
      (outcome) => {
        this.#record(outcome.source)
        return outcome.value
      },
      (error: unknown) => {
        this.#record(MISS)
        throw error
      },
    )
  }

  async #lookup(key: string, loader: Loader | undefined, options: LoadOptions | undefined, flight: Flight): Promise<Outcome> {
    if (this.#remotes.length > 0) {
      const fullKey = this.#keyPrefix + key
      for (let at = 0; at < this.#remotes.length; at++) {
        const tier = this.#remotes[at]!
        const raw = await this.#call(tier, 'get', [key], () => tier.store.get(fullKey), false)
        if (raw === FAILED || raw === null) {
          this.#tierMisses[tier.index]!++
          continue
        }
        const now = this.#clock.now()
        const hit = this.#decode(tier, key, raw, now)
        if (hit === undefined) {
          this.#tierMisses[tier.index]!++
          continue
        }
        if (!flight.superseded) this.#promote(key, hit, at, now)
        return { value: hit.value, source: tier.index }
      }
    }
    if (loader === undefined) return { value: undefined, source: MISS }
    const value = await this.#runLoader([key], () => loader(key))
    if (value === undefined) {
      const error = new LoaderResultError(`loader for key ${describe(key)} returned undefined; return null to cache absence`, { namespace: this.namespace, key })
      this.#loadErrors++
      this.#emit({ type: 'load:error', namespace: this.namespace, keys: [key], error })
      throw error
    }
    if (!flight.superseded) {
      const ttl = value === null ? checkTtl(options?.nullTtl, 'nullTtl', this.#nullTtl) : checkTtl(options?.ttl, 'ttl', this.#ttl)
      await this.#write([{ key, value, ttl, tags: checkTags(options?.tags, 'tags') }], 'set', new Set([flight]))
    }
    return { value, source: LOADED }
  }

  async #runLoader<T>(keys: readonly string[], run: () => T | Promise<T>): Promise<T> {
    this.#loads++
    this.#inflight++
    try {
      return await run()
    } catch (error) {
      this.#loadErrors++
      this.#emit({ type: 'load:error', namespace: this.namespace, keys, error })
      throw error
    } finally {
      this.#inflight--
    }
  }

  /** Looks keys up in L1 then each shared tier (one batch per tier); records each key once. */
  async #lookupMany(keys: readonly string[]): Promise<{ result: Map<string, unknown>; missing: string[] }> {
    const result = new Map<string, unknown>()
    let missing: string[] = []
    const l1 = this.#l1
    const now = this.#clock.now()
    for (const key of keys) {
      result.set(key, undefined)
      const entry = l1?.get(key)
      if (entry !== undefined && entry.expiresAt > now) {
        result.set(key, entry.value)
        this.#requests++
        this.#l1Hits++
      } else {
        if (l1 !== undefined) this.#tierMisses[0]!++
        missing.push(key)
      }
    }
    for (let at = 0; at < this.#remotes.length && missing.length > 0; at++) {
      const tier = this.#remotes[at]!
      const fullKeys = missing.map((key) => this.#keyPrefix + key)
      const raws = await this.#call(tier, 'mget', missing, () => mgetOf(tier.store, fullKeys), false)
      const still: string[] = []
      const readAt = this.#clock.now()
      missing.forEach((key, i) => {
        const raw = raws === FAILED ? null : raws[i]
        const hit = raw === null || raw === undefined ? undefined : this.#decode(tier, key, raw, readAt)
        if (hit === undefined) {
          this.#tierMisses[tier.index]!++
          still.push(key)
          return
        }
        result.set(key, hit.value)
        this.#record(tier.index)
        const flight = this.#flights.get(key)
        if (flight === undefined || !flight.superseded) this.#promote(key, hit, at, readAt)
      })
      missing = still
    }
    return { result, missing }
  }

  async #loadMany(keys: readonly string[], batchLoader: BatchLoader, options: LoadOptions | undefined): Promise<{ result: Map<string, unknown>; loaded: number }> {
    const { result, missing } = await this.#lookupMany(keys)
    if (missing.length === 0) return { result, loaded: 0 }
    const ttl = checkTtl(options?.ttl, 'ttl', this.#ttl)
    const nullTtl = checkTtl(options?.nullTtl, 'nullTtl', this.#nullTtl)
    const tags = checkTags(options?.tags, 'tags')

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
        flight.promise.catch(() => undefined) // a waiter may never attach; the error reaches the caller below
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
          this.#record(MISS)
        }
        settle!(values)
      } catch (error) {
        for (const key of toLoad) this.#record(MISS)
        settle!(error instanceof Error ? error : new Error(String(error)))
        throw error
      }
    }
    for (const [key, flight] of joined) {
      const outcome = await flight.promise
      result.set(key, outcome.value)
      this.#record(outcome.source)
    }
    return { result, loaded: toLoad.length }
  }

  /** Serializes every entry, then writes all shared tiers in parallel (one batch each), then L1. */
  async #write(
    entries: readonly { key: string; value: unknown; ttl: number; tags: readonly string[] }[],
    operation: 'set' | 'mset',
    own?: ReadonlySet<Flight>,
  ): Promise<void> {
    if (entries.length === 0) return
    const now = this.#clock.now()
    const prepared = entries.map((entry) => {
      const ttl = this.#ttlWithJitter(entry.ttl)
      return { ...entry, ttl, payload: this.#remotes.length > 0 ? this.#serialize(entry.key, entry.value) : '' }
    })
    for (const entry of entries) {
      const flight = this.#flights.get(entry.key)
      if (flight !== undefined && own?.has(flight) !== true) flight.superseded = true
    }
    this.#sets += entries.length
    await Promise.all(this.#remotes.map((tier) => {
      const writes: L2Write[] = prepared.map((entry) => {
        const ttl = Math.max(1, Math.round(entry.ttl * tier.scale))
        return { key: this.#keyPrefix + entry.key, value: encodeEnvelope(now + ttl, now + ttl, entry.tags, entry.payload), ttl }
      })
      const keys = prepared.map((entry) => entry.key)
      if (writes.length === 1) {
        const only = writes[0]!
        return this.#call(tier, operation, keys, () => tier.store.set(only.key, only.value, only.ttl), true)
      }
      return this.#call(tier, operation, keys, () => msetOf(tier.store, writes), true)
    }))
    for (const entry of prepared) {
      this.#setL1(entry.key, entry.value, now + entry.ttl * this.#l1Scale, now)
    }
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
    for (const key of keys) {
      const flight = this.#flights.get(key)
      if (flight !== undefined) flight.superseded = true
    }
    this.#deletes += keys.length
    const fullKeys = keys.map((key) => this.#keyPrefix + key)
    await Promise.all(this.#remotes.map((tier) => this.#call(tier, operation, keys, () => tier.store.delete(fullKeys), true)))
    const l1 = this.#l1
    if (l1 !== undefined) for (const key of keys) l1.delete(key)
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
