/**
 * Declarative caching: standard (TC39) method decorators — `@cacheable`, `@cacheableBatch`,
 * `@cachePut`, `@cacheEvict`, `@cacheEvictBatch` — and `cached(fn, options)` for plain
 * functions. They use the public `TierCache` API only (`getOrLoad`, `mgetOrLoad`, `get`, `mget`,
 * `set`, `mset`, `delete`, `mdelete`), so they run wherever the core runs.
 *
 * Rules shared by all of them:
 * - Options are checked when the decorator is applied (class definition time) or when
 *   `cached()` is called: bad ones throw `InvalidOptionError` (`E_INVALID_OPTION`).
 * - The method's own errors always reach the caller and are never cached.
 * - A failure of the cache (closed, a key or value it refuses, …) does not fail the method
 *   unless `onCacheError: 'propagate'`; it is reported to the decorator's `onEvent`.
 * @module
 */
import type { TierCache } from './cache.js'
import { describe, type Duration } from './duration.js'
import { InvalidKeyError, InvalidOptionError, LoaderResultError, TierCacheError } from './errors.js'
import { checkKnown, checkTtl } from './options.js'

/** What a decorator does when the cache fails: `'ignore'` (report it, run/return the method anyway) or `'propagate'` (throw it). */
export type OnCacheError = 'ignore' | 'propagate'

/** A cache, or a function of `this` (also passed as the argument) that returns one: `(self: Service) => self.cache`. */
export type CacheSource<This> = TierCache | ((this: This, self: This) => TierCache)

/** The name of the decorator (or wrapper) that met a cache failure. */
export type DecoratorName = 'cacheable' | 'cacheableBatch' | 'cachePut' | 'cacheEvict' | 'cacheEvictBatch' | 'cached'

/**
 * A cache failure a decorator met: given to the decorator's `onEvent`, whether it was
 * swallowed (`onCacheError: 'ignore'`) or rethrown (`'propagate'`).
 */
export interface DecoratorErrorEvent {
  type: 'decorator:error'
  decorator: DecoratorName
  /** The decorated method's name (or the wrapped function's). */
  method: string
  /** The cache's namespace. */
  namespace: string
  /** The cache call that failed: `getOrLoad`, `mgetOrLoad`, `get`, `mget`, `set`, `mset`, `delete` or `mdelete`. */
  operation: string
  keys: readonly string[]
  error: unknown
  /** Whether the error was thrown to the caller (`onCacheError: 'propagate'`). */
  propagated: boolean
}

interface CommonOptions<This> {
  /** The cache, or a function of `this` returning it. */
  cache: CacheSource<This>
  /** `'ignore'`: a cache failure never fails the method (it is reported to `onEvent`); `'propagate'`: it is thrown. @default 'ignore' */
  onCacheError?: OnCacheError
  /** Receives every cache failure the decorator meets. A listener's own error is swallowed. */
  onEvent?: (event: DecoratorErrorEvent) => void
}

/** A fixed key, or a function of the method's arguments. (`any[]` by default: a key function with typed parameters fits it.) */
export type KeySource<Args extends unknown[] = any[]> = string | ((...args: Args) => string)

/** Options of `@cacheable` and `cached()`. */
export interface CacheableOptions<This = unknown, Args extends unknown[] = any[]> extends CommonOptions<This> {
  /** The cache key: a string, or a function of the arguments. */
  key: KeySource<Args>
  /** TTL of a stored result. @default the cache's ttl */
  ttl?: Duration
  /** TTL of a stored `null`. @default the cache's nullTtl */
  nullTtl?: Duration
  /** Store a `null` result (negative caching; a later call returns `null` without running the method). @default true */
  cacheNull?: boolean
  /** Passed to the cache's reads: whether a stale value (expired, within grace) may be returned. @default the cache's default */
  allowStale?: boolean
}

/** Options of `@cacheableBatch`. */
export interface CacheableBatchOptions<This = unknown, Item = string> extends CommonOptions<This> {
  /** Maps one item of the first argument to its cache key. @default the item itself (items must be strings) */
  keys?: (item: Item) => string
  /** TTL of stored results. @default the cache's ttl */
  ttl?: Duration
  /** TTL of stored `null`s (items the method did not return). @default the cache's nullTtl */
  nullTtl?: Duration
  /** Store `null` for items the method did not return or returned as `null`. @default true */
  cacheNull?: boolean
  /** Passed to the cache's reads: whether stale values (expired, within grace) may be returned. @default the cache's default */
  allowStale?: boolean
}

/** Options of `@cachePut`. */
export interface CachePutOptions<This = unknown, Args extends unknown[] = any[], Result = any> extends CommonOptions<This> {
  /** The cache key: a string, or a function of the arguments. */
  key: KeySource<Args>
  /** What to store, from the method's result and arguments. @default the result */
  value?: (result: Result, ...args: Args) => unknown
  /** TTL of the stored value. @default the cache's ttl */
  ttl?: Duration
}

/** Options of `@cacheEvict`. */
export interface CacheEvictOptions<This = unknown, Args extends unknown[] = any[]> extends CommonOptions<This> {
  /** The key to remove: a string, or a function of the arguments. */
  key: KeySource<Args>
  /** Evict before the method runs (even if it then fails) instead of after it succeeds. @default false */
  before?: boolean
}

/** Options of `@cacheEvictBatch`. */
export interface CacheEvictBatchOptions<This = unknown, Item = string> extends CommonOptions<This> {
  /** Maps one item of the first argument to its cache key. @default the item itself (items must be strings) */
  keys?: (item: Item) => string
  /** Evict before the method runs (even if it then fails) instead of after it succeeds. @default false */
  before?: boolean
}

/** Argument lists that start with `Args` (a key function may read fewer arguments than the method takes). */
type StartingWith<Args extends unknown[]> = [...Args, ...unknown[]]

// ---------------------------------------------------------------- shared machinery

/** The cache methods the decorators call. */
type CacheLike = Pick<TierCache, 'namespace' | 'get' | 'getOrLoad' | 'mget' | 'mgetOrLoad' | 'set' | 'mset' | 'delete' | 'mdelete'>
type AnyFunction = (this: unknown, ...args: unknown[]) => unknown

/**
 * Method calls in flight per cache and key, outside the cache's own single-flight: a load whose
 * write-back failed, a load without negative caching, a call the failed cache could not serve.
 * Callers that meet the same failure join them, so the method still runs once. The L1-hit path
 * never touches this map.
 */
const flights = new WeakMap<object, Map<string, Promise<unknown>>>()

function flightsOf(cache: object): Map<string, Promise<unknown>> {
  let map = flights.get(cache)
  if (map === undefined) flights.set(cache, (map = new Map()))
  return map
}

/** Joins the call in flight for `key`, or starts `run` and registers it until it settles. */
function shared(cache: object, key: string, run: () => Promise<unknown>): Promise<unknown> {
  const map = flightsOf(cache)
  const existing = map.get(key)
  if (existing !== undefined) return existing
  const flight = run()
  map.set(key, flight)
  const done = (): void => unregister(cache, key, flight)
  flight.then(done, done)
  return flight
}

function unregister(cache: object, key: string, flight: Promise<unknown>): void {
  const map = flights.get(cache)
  if (map?.get(key) === flight) map.delete(key)
}

/**
 * Keys written or evicted by a decorator while reads without negative caching (get → method →
 * set) are in flight, so those reads do not write an older value back (reads through
 * `getOrLoad` get this from the cache itself). Cleared whenever no such read is in flight.
 */
const marks = new WeakMap<object, { reads: number; written: Map<string, number> }>()
let generation = 0

/** Starts a read that will write back; returns its start generation. */
function beginRead(cache: object): number {
  let m = marks.get(cache)
  if (m === undefined) marks.set(cache, (m = { reads: 0, written: new Map() }))
  m.reads++
  return ++generation
}

function endRead(cache: object): void {
  const m = marks.get(cache)
  if (m !== undefined && --m.reads === 0) m.written.clear()
}

/** Whether `key` was written or evicted by a decorator since `start`. */
function writtenSince(cache: object, key: string, start: number): boolean {
  return (marks.get(cache)?.written.get(key) ?? 0) > start
}

/** A decorator writes or evicts `keys`: reads in flight do not write back, later callers start afresh. */
function supersede(cache: object, keys: readonly string[]): void {
  const m = marks.get(cache)
  if (m !== undefined && m.reads > 0) {
    const now = ++generation
    for (const key of keys) m.written.set(key, now)
  }
  const map = flights.get(cache)
  if (map !== undefined) for (const key of keys) map.delete(key)
}

/** Runs `fn` so that a synchronous throw becomes a rejection. */
async function invoke(fn: AnyFunction, self: unknown, args: unknown[]): Promise<unknown> {
  return fn.apply(self, args)
}

/** A loader's hard timeout is the cache's answer, not a failure to ignore. */
function isTimeout(error: unknown): boolean {
  return error instanceof TierCacheError && (error.code as string) === 'E_LOADER_TIMEOUT'
}

interface Common {
  decorator: DecoratorName
  cacheOf: (self: unknown) => CacheLike
  propagate: boolean
  onEvent: ((event: DecoratorErrorEvent) => void) | undefined
}

/** Reports a cache failure; throws it when propagating. */
function fail(common: Common, method: string, cache: CacheLike, operation: string, keys: readonly string[], error: unknown): void {
  if (common.onEvent !== undefined) {
    try {
      common.onEvent({ type: 'decorator:error', decorator: common.decorator, method, namespace: cache.namespace, operation, keys, error, propagated: common.propagate })
    } catch {
      // a listener's failure must not become the method's failure
    }
  }
  if (common.propagate) throw error
}

const COMMON_OPTIONS = ['cache', 'onCacheError', 'onEvent']

function checkOptions(options: unknown, where: string, known: readonly string[]): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError(`${where} needs an options object with at least a cache; got ${describe(options)}`, { option: 'options' })
  }
  checkKnown(options, new Set([...COMMON_OPTIONS, ...known]), where)
  return options as Record<string, unknown>
}

function isCache(value: unknown, needs: readonly (keyof CacheLike)[]): value is CacheLike {
  if (value === null || typeof value !== 'object') return false
  const cache = value as Record<string, unknown>
  return needs.every((name) => name === 'namespace' || typeof cache[name] === 'function')
}

function commonOf(options: Record<string, unknown>, where: string, decorator: DecoratorName, needs: readonly (keyof CacheLike)[]): Common {
  const source = options.cache
  let cacheOf: (self: unknown) => CacheLike
  if (typeof source === 'function') {
    cacheOf = (self) => {
      const cache: unknown = (source as AnyFunction).call(self, self)
      if (!isCache(cache, needs)) {
        throw new InvalidOptionError(`${where}: the cache function returned ${describe(cache)}, not a cache from createCache()`, { option: 'cache' })
      }
      return cache
    }
  } else if (isCache(source, needs)) {
    cacheOf = () => source
  } else {
    throw new InvalidOptionError(`${where}: cache must be a cache from createCache() or a function of this returning one; got ${describe(source)}`, { option: 'cache' })
  }
  const mode = options.onCacheError ?? 'ignore'
  if (mode !== 'ignore' && mode !== 'propagate') {
    throw new InvalidOptionError(`${where}: onCacheError must be 'ignore' or 'propagate'; got ${describe(mode)}`, { option: 'onCacheError' })
  }
  return { decorator, cacheOf, propagate: mode === 'propagate', onEvent: functionOption(options.onEvent, 'onEvent', where) }
}

function functionOption<F>(value: unknown, option: string, where: string): F | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') throw new InvalidOptionError(`${where}: ${option} must be a function; got ${describe(value)}`, { option })
  return value as F
}

function booleanOption(value: unknown, option: string, where: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new InvalidOptionError(`${where}: ${option} must be true or false; got ${describe(value)}`, { option })
  return value
}

function ttlOption(value: unknown, option: string, where: string): number | undefined {
  if (value === undefined) return undefined
  try {
    return checkTtl(value, option, 0)
  } catch (error) {
    throw new InvalidOptionError(`${where}: ${(error as Error).message.replace(/^\[tiercache\] /, '')}`, { option })
  }
}

function keyOption(value: unknown, where: string): (args: unknown[]) => string {
  if (typeof value === 'string' && value.length > 0) return () => value
  if (typeof value === 'function') return (args) => (value as (...a: unknown[]) => string)(...args)
  throw new InvalidOptionError(`${where}: key must be a non-empty string or a function of the arguments; got ${describe(value)}`, { option: 'key' })
}

function itemKeyOption(value: unknown, where: string): (item: unknown) => string {
  if (value === undefined) return (item) => item as string
  return functionOption<(item: unknown) => string>(value, 'keys', where)!
}

/** Drops undefined fields, so the cache's defaults apply; `undefined` when nothing is left. */
function definedOnly<O extends object>(options: O): O | undefined {
  const entries = Object.entries(options).filter(([, v]) => v !== undefined)
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as O)
}

function methodName(name: string | symbol): string {
  return typeof name === 'symbol' ? (name.description ?? 'symbol') : name
}

/** Applies a wrapper as a standard method decorator, refusing other targets and legacy decorators. */
function asMethodDecorator(where: string, wrap: (method: AnyFunction, name: string) => AnyFunction) {
  return (method: unknown, context: unknown): AnyFunction => {
    const ctx = context as { kind?: unknown; name?: unknown } | null
    if (ctx === null || typeof ctx !== 'object' || typeof ctx.kind !== 'string') {
      throw new InvalidOptionError(`${where} is a standard (TC39) decorator: turn experimentalDecorators off in tsconfig.json (TypeScript 5+)`, { option: 'experimentalDecorators' })
    }
    if (ctx.kind !== 'method' || typeof method !== 'function') {
      throw new InvalidOptionError(`${where} decorates methods; got a ${ctx.kind}`, { option: 'decorator' })
    }
    return wrap(method as AnyFunction, methodName(ctx.name as string | symbol))
  }
}

// ---------------------------------------------------------------- @cacheable and cached()

interface CacheableConfig extends Common {
  keyOf: (args: unknown[]) => string
  cacheNull: boolean
  loadOptions: { ttl?: number; nullTtl?: number; allowStale?: boolean } | undefined
  readOptions: { disableLoad: true; allowStale?: boolean }
  writeOptions: { ttl?: number } | undefined
}

const CACHEABLE_OPTIONS = ['key', 'ttl', 'nullTtl', 'cacheNull', 'allowStale']

function cacheableConfig(input: unknown, where: string, decorator: DecoratorName): CacheableConfig {
  const options = checkOptions(input, where, CACHEABLE_OPTIONS)
  const common = commonOf(options, where, decorator, ['namespace', 'getOrLoad', 'get', 'set'])
  const ttl = ttlOption(options.ttl, 'ttl', where)
  const nullTtl = ttlOption(options.nullTtl, 'nullTtl', where)
  const allowStale = options.allowStale === undefined ? undefined : booleanOption(options.allowStale, 'allowStale', where, true)
  return {
    ...common,
    keyOf: keyOption(options.key, where),
    cacheNull: booleanOption(options.cacheNull, 'cacheNull', where, true),
    loadOptions: definedOnly({ ttl, nullTtl, allowStale }),
    readOptions: allowStale === undefined ? { disableLoad: true } : { disableLoad: true, allowStale },
    writeOptions: definedOnly({ ttl }),
  }
}

function cacheableWrapper(config: CacheableConfig, method: AnyFunction, name: string): AnyFunction {
  /** getOrLoad with the method as loader: single-flight, null cached, superseded by writes. */
  const loadThrough = (cache: CacheLike, key: string, self: unknown, args: unknown[]): Promise<unknown> => {
    let pending: Promise<unknown> | undefined
    const loader = (): Promise<unknown> => {
      pending = invoke(method, self, args)
      // callers that joined this load and then get the cache's error find the method's result here
      flightsOf(cache).set(key, pending)
      return pending
    }
    // no async function here: the L1-hit path costs one derived promise
    return cache.getOrLoad(key, loader, config.loadOptions).then(
      (value) => {
        if (pending !== undefined) unregister(cache, key, pending)
        return value
      },
      (error: unknown) => recover(cache, key, self, args, pending, error),
    )
  }

  /** getOrLoad failed: the method's error, the cache's, or that of a load this call joined. */
  const recover = async (cache: CacheLike, key: string, self: unknown, args: unknown[], pending: Promise<unknown> | undefined, error: unknown): Promise<unknown> => {
    if (pending !== undefined) {
      // the joiners' handlers run in this same microtask burst: keep the entry until after them
      setTimeout(() => unregister(cache, key, pending), 0)
    }
    if (isTimeout(error)) throw error
    if (pending !== undefined) {
      const value = await pending // the method's own error wins over anything the cache says
      fail(config, name, cache, 'getOrLoad', [key], error)
      return value
    }
    // not a cache failure: another caller's load of this key failed, and this call joined it
    if (!(error instanceof TierCacheError)) throw error
    // a call of the method is under way for the same failure: join it; its caller reports
    const joined = flights.get(cache)?.get(key)
    if (joined !== undefined) {
      if (config.propagate) throw error
      return joined
    }
    fail(config, name, cache, 'getOrLoad', [key], error)
    return shared(cache, key, () => invoke(method, self, args))
  }

  /** cacheNull: false → get; on a miss the method (once for concurrent callers), then set unless null. */
  const readThenWrite = async (cache: CacheLike, key: string, self: unknown, args: unknown[]): Promise<unknown> => {
    let readFailed = false
    try {
      const hit = await cache.get(key, config.readOptions)
      if (hit !== undefined) return hit
    } catch (error) {
      fail(config, name, cache, 'get', [key], error)
      readFailed = true
    }
    return shared(cache, key, async () => {
      const start = beginRead(cache)
      try {
        const value = await method.apply(self, args)
        if (value === null || readFailed || writtenSince(cache, key, start)) return value
        try {
          await cache.set(key, value, config.writeOptions)
        } catch (error) {
          fail(config, name, cache, 'set', [key], error)
        }
        return value
      } finally {
        endRead(cache)
      }
    })
  }

  const read = config.cacheNull ? loadThrough : readThenWrite
  const { cacheOf, keyOf } = config
  return function (this: unknown, ...args: unknown[]): Promise<unknown> {
    let cache: CacheLike
    let key: string
    try {
      cache = cacheOf(this)
      key = keyOf(args)
    } catch (error) {
      return Promise.reject(error)
    }
    return read(cache, key, this, args)
  }
}

/**
 * Caches a method's result: a hit returns the cached value without running the method; a miss
 * runs it once however many callers wait (single-flight) and stores the result, a `null` for
 * `nullTtl` (a later call returns `null` without running the method). The method's errors
 * reach every waiter and are never cached.
 *
 * Decorates async methods (standard decorators, TypeScript 5+, no `experimentalDecorators`).
 *
 * @param options.cache the cache, or a function of `this` returning it: `(self: UserService) => self.cache`
 * @param options.key the key: a string, or a function of the arguments (annotate its parameters: `(id: string) => \`user:${id}\``)
 * @param options.ttl TTL of a result. @default the cache's ttl
 * @param options.nullTtl TTL of a `null` result. @default the cache's nullTtl
 * @param options.cacheNull store `null` results. @default true
 * @param options.allowStale passed to the cache's reads (stale values within grace). @default the cache's default
 * @param options.onCacheError `'ignore'`: a cache failure never fails the method; `'propagate'`: it is thrown. @default 'ignore'
 * @param options.onEvent receives every cache failure (`DecoratorErrorEvent`)
 * @throws InvalidOptionError (`E_INVALID_OPTION`) for bad options, when the class is defined
 * @example
 * ```ts
 * class UserService {
 *   constructor(readonly cache: TierCache, readonly db: Db) {}
 *   @cacheable({ cache: (self: UserService) => self.cache, key: (id: string) => `user:${id}`, ttl: '10m' })
 *   async findUser(id: string): Promise<User | null> { return this.db.users.find(id) }
 * }
 * ```
 */
export function cacheable<This = unknown, Args extends unknown[] = any[]>(options: CacheableOptions<This, Args>) {
  const config = cacheableConfig(options, '@cacheable', 'cacheable')
  const decorate = asMethodDecorator('@cacheable', (method, name) => cacheableWrapper(config, method, name))
  return decorate as <T extends This, A extends StartingWith<Args>, R>(
    method: (this: T, ...args: A) => Promise<R>,
    context: ClassMethodDecoratorContext<T, (this: T, ...args: A) => Promise<R>>,
  ) => (this: T, ...args: A) => Promise<R>
}

/**
 * Wraps a plain function with the semantics of `@cacheable`: cache-first, single-flight miss,
 * negative caching, cache failures ignored (reported to `onEvent`) unless `onCacheError: 'propagate'`.
 * The result is always a Promise.
 *
 * @param fn the function to cache; `this` is passed through (and to a `cache` function)
 * @param options the options of `@cacheable`; here `key`'s parameters are typed from `fn`
 * @throws InvalidOptionError (`E_INVALID_OPTION`) for bad options, at once
 * @example
 * ```ts
 * const findUser = cached(async (id: string) => db.users.find(id), { cache: users, key: (id) => `user:${id}` })
 * await findUser('42')
 * ```
 */
export function cached<A extends unknown[], R, This = unknown>(
  fn: (this: This, ...args: A) => R,
  options: CacheableOptions<NoInfer<This>, A>,
): (this: This, ...args: A) => Promise<Awaited<R>> {
  if (typeof fn !== 'function') throw new InvalidOptionError(`cached() needs a function to wrap; got ${describe(fn)}`, { option: 'fn' })
  const config = cacheableConfig(options, 'cached()', 'cached')
  return cacheableWrapper(config, fn as AnyFunction, fn.name === '' ? 'anonymous' : fn.name) as (this: This, ...args: A) => Promise<Awaited<R>>
}

// ---------------------------------------------------------------- @cacheableBatch

/** Distinct items in call order with their keys, and the first item of each key. */
function collect(items: unknown, keyOf: (item: unknown) => string, where: string): { order: [unknown, string][]; byKey: Map<string, unknown> } {
  if (items === null || typeof items !== 'object' || typeof (items as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new InvalidKeyError(`${where}: the first argument must be an array (or another iterable) of items; got ${describe(items)}`)
  }
  const seen = new Set<unknown>()
  const order: [unknown, string][] = []
  const byKey = new Map<string, unknown>()
  for (const item of items as Iterable<unknown>) {
    if (seen.has(item)) continue
    seen.add(item)
    const key = keyOf(item)
    order.push([item, key])
    if (!byKey.has(key)) byKey.set(key, item)
  }
  return { order, byKey }
}

/** The method's result for `keys`, by key; items it left out (or returned as undefined) are null. */
function byKeyOf(out: unknown, keys: readonly string[], byKey: ReadonlyMap<string, unknown>, where: string): Map<string, unknown> {
  const values = new Map<string, unknown>()
  if (out instanceof Map) {
    for (const key of keys) values.set(key, out.get(byKey.get(key)) ?? null)
  } else if (out !== null && typeof out === 'object' && !Array.isArray(out)) {
    const record = out as Record<string, unknown>
    for (const key of keys) {
      const name = String(byKey.get(key))
      values.set(key, Object.hasOwn(record, name) ? (record[name] ?? null) : null)
    }
  } else {
    throw new LoaderResultError(`${where}: the method must return a Map of item → value; got ${describe(out)}`)
  }
  return values
}

function assemble(order: readonly [unknown, string][], values: ReadonlyMap<string, unknown>): Map<unknown, unknown> {
  const result = new Map<unknown, unknown>()
  for (const [item, key] of order) result.set(item, values.get(key) ?? null)
  return result
}

/**
 * Caches a batch method item by item. The method takes an array of items first (ids, say) and
 * resolves to a `Map` of item → value. Items are de-duplicated; an empty list resolves to an
 * empty Map without running the method; cached items are read in one round trip; the method
 * runs once with the misses only; items it did not return become `null`; the results are
 * written back in one batch. The decorated method resolves to a Map of every distinct
 * requested item → value or `null`, in request order (declare it as `Map<Item, V | null>`).
 *
 * @param options.cache the cache, or a function of `this` returning it
 * @param options.keys maps one item to its key: `(id: number) => \`user:${id}\``. @default the item (string items)
 * @param options.ttl TTL of results. @default the cache's ttl
 * @param options.nullTtl TTL of `null`s. @default the cache's nullTtl
 * @param options.cacheNull store `null` for items the method did not return. @default true
 * @param options.allowStale passed to the cache's reads (stale values within grace). @default the cache's default
 * @param options.onCacheError `'ignore'` or `'propagate'`. @default 'ignore'
 * @param options.onEvent receives every cache failure
 * @example
 * ```ts
 * @cacheableBatch({ cache: (self: UserService) => self.cache, keys: (id: string) => `user:${id}` })
 * async findUsers(ids: string[]): Promise<Map<string, User | null>> {
 *   return new Map((await this.db.users.findMany(ids)).map((u) => [u.id, u]))
 * }
 * ```
 */
export function cacheableBatch<This = unknown, Item = string>(options: CacheableBatchOptions<This, Item>) {
  const where = '@cacheableBatch'
  const raw = checkOptions(options, where, ['keys', 'ttl', 'nullTtl', 'cacheNull', 'allowStale'])
  const config = commonOf(raw, where, 'cacheableBatch', ['namespace', 'mgetOrLoad', 'mget', 'mset'])
  const keyOf = itemKeyOption(raw.keys, where)
  const ttl = ttlOption(raw.ttl, 'ttl', where)
  const allowStale = raw.allowStale === undefined ? undefined : booleanOption(raw.allowStale, 'allowStale', where, true)
  const loadOptions = definedOnly({ ttl, nullTtl: ttlOption(raw.nullTtl, 'nullTtl', where), allowStale })
  const readOptions = definedOnly({ allowStale })
  const writeOptions = definedOnly({ ttl })
  const cacheNull = booleanOption(raw.cacheNull, 'cacheNull', where, true)

  const decorate = asMethodDecorator(where, (method, name) => {
    const label = `${where} ${name}`
    return async function (this: unknown, ...args: unknown[]): Promise<Map<unknown, unknown>> {
      const cache = config.cacheOf(this)
      const [items, ...rest] = args
      const { order, byKey } = collect(items, keyOf, label)
      if (order.length === 0) return new Map()
      const keys = [...byKey.keys()]
      const load = async (missing: readonly string[]): Promise<Map<string, unknown>> =>
        byKeyOf(await method.call(this, missing.map((key) => byKey.get(key)), ...rest), missing, byKey, label)

      if (!cacheNull) {
        const values = new Map<string, unknown>()
        let readFailed = false
        try {
          for (const [key, value] of await cache.mget(keys, readOptions)) if (value !== undefined) values.set(key, value)
        } catch (error) {
          fail(config, name, cache, 'mget', keys, error)
          readFailed = true
        }
        const missing = keys.filter((key) => !values.has(key))
        if (missing.length > 0) {
          const start = beginRead(cache)
          try {
            const loaded = await load(missing)
            for (const [key, value] of loaded) values.set(key, value)
            const writes = [...loaded].filter(([key, value]) => value !== null && !writtenSince(cache, key, start))
            if (writes.length > 0 && !readFailed) {
              try {
                await cache.mset(writes, writeOptions)
              } catch (error) {
                fail(config, name, cache, 'mset', writes.map(([key]) => key), error)
              }
            }
          } finally {
            endRead(cache)
          }
        }
        return assemble(order, values)
      }

      let pending: Promise<Map<string, unknown>> | undefined
      try {
        return assemble(order, await cache.mgetOrLoad(keys, (missing) => (pending = load(missing)), loadOptions))
      } catch (error) {
        if (isTimeout(error)) throw error
        // the method's own error wins; else the cache failed (or a load this call joined did)
        const values = new Map(pending === undefined ? [] : await pending)
        if (pending === undefined && !(error instanceof TierCacheError)) throw error
        fail(config, name, cache, 'mgetOrLoad', keys, error)
        // what the method has not produced yet (hits the cache could not deliver) is loaded now, uncached
        const remaining = keys.filter((key) => !values.has(key))
        if (remaining.length > 0) for (const [key, value] of await load(remaining)) values.set(key, value)
        return assemble(order, values)
      }
    }
  })
  return decorate as <T extends This, A extends [items: readonly Item[], ...rest: unknown[]], V>(
    method: (this: T, ...args: A) => Promise<Map<Item, V>>,
    context: ClassMethodDecoratorContext<T, (this: T, ...args: A) => Promise<Map<Item, V>>>,
  ) => null extends V ? (this: T, ...args: A) => Promise<Map<Item, V>> : { 'error: declare the method as returning Promise<Map<Item, V | null>>; items it does not return resolve to null': never }
}

// ---------------------------------------------------------------- @cachePut

/**
 * Runs the method, then (on success) stores its result — or `value(result, ...args)` — under
 * `key`. The write is awaited before the method's promise resolves; a method error writes
 * nothing. A read through `@cacheable` in flight at the time does not overwrite it.
 *
 * @param options.cache the cache, or a function of `this` returning it
 * @param options.key a string, or a function of the arguments
 * @param options.value what to store, from `(result, ...args)`. @default the result
 * @param options.ttl TTL of the stored value. @default the cache's ttl
 * @param options.onCacheError `'ignore'` (the result is returned anyway) or `'propagate'` (the method ran; the write error is thrown). @default 'ignore'
 * @param options.onEvent receives every cache failure
 * @example
 * ```ts
 * @cachePut({ cache: (self: UserService) => self.cache, key: (user: User) => `user:${user.id}` })
 * async saveUser(user: User): Promise<User> { return this.db.users.save(user) }
 * ```
 */
export function cachePut<This = unknown, Args extends unknown[] = any[], Result = any>(options: CachePutOptions<This, Args, Result>) {
  const where = '@cachePut'
  const raw = checkOptions(options, where, ['key', 'value', 'ttl'])
  const config = commonOf(raw, where, 'cachePut', ['namespace', 'set'])
  const keyOf = keyOption(raw.key, where)
  const valueOf = functionOption<(result: unknown, ...args: unknown[]) => unknown>(raw.value, 'value', where)
  const writeOptions = definedOnly({ ttl: ttlOption(raw.ttl, 'ttl', where) })

  const decorate = asMethodDecorator(where, (method, name) =>
    async function (this: unknown, ...args: unknown[]): Promise<unknown> {
      const cache = config.cacheOf(this)
      const result = await method.apply(this, args)
      const key = keyOf(args)
      const value = valueOf === undefined ? result : valueOf(result, ...args)
      supersede(cache, [key])
      try {
        await cache.set(key, value, writeOptions)
      } catch (error) {
        fail(config, name, cache, 'set', [key], error)
      }
      return result
    })
  return decorate as <T extends This, A extends StartingWith<Args>, R extends Result>(
    method: (this: T, ...args: A) => Promise<R>,
    context: ClassMethodDecoratorContext<T, (this: T, ...args: A) => Promise<R>>,
  ) => (this: T, ...args: A) => Promise<R>
}

// ---------------------------------------------------------------- @cacheEvict, @cacheEvictBatch

function evicting(
  where: string,
  decorator: DecoratorName,
  raw: Record<string, unknown>,
  needs: keyof CacheLike,
  keysOf: (args: unknown[], name: string) => string[],
) {
  const config = commonOf(raw, where, decorator, ['namespace', needs])
  const before = booleanOption(raw.before, 'before', where, false)
  return asMethodDecorator(where, (method, name) => {
    const evict = async (cache: CacheLike, args: unknown[]): Promise<void> => {
      const keys = keysOf(args, name)
      if (keys.length === 0) return
      supersede(cache, keys)
      try {
        if (needs === 'delete') await cache.delete(keys[0]!)
        else await cache.mdelete(keys)
      } catch (error) {
        fail(config, name, cache, needs, keys, error)
      }
    }
    return async function (this: unknown, ...args: unknown[]): Promise<unknown> {
      const cache = config.cacheOf(this)
      if (before) {
        await evict(cache, args)
        return await method.apply(this, args)
      }
      const result = await method.apply(this, args)
      await evict(cache, args)
      return result
    }
  })
}

/**
 * Removes `key` from the cache after the method succeeds (nothing is removed when it fails),
 * or with `before: true` before it runs (then the key is gone even if the method fails).
 * A read through `@cacheable` in flight at the time does not write its older value back.
 *
 * @param options.cache the cache, or a function of `this` returning it
 * @param options.key a string, or a function of the arguments
 * @param options.before evict before the call instead of after success. @default false
 * @param options.onCacheError `'ignore'` or `'propagate'` (with `before`, the method then does not run). @default 'ignore'
 * @param options.onEvent receives every cache failure
 * @example
 * ```ts
 * @cacheEvict({ cache: (self: UserService) => self.cache, key: (id: string) => `user:${id}` })
 * async deleteUser(id: string): Promise<void> { await this.db.users.delete(id) }
 * ```
 */
export function cacheEvict<This = unknown, Args extends unknown[] = any[]>(options: CacheEvictOptions<This, Args>) {
  const where = '@cacheEvict'
  const raw = checkOptions(options, where, ['key', 'before'])
  const keyOf = keyOption(raw.key, where)
  const decorate = evicting(where, 'cacheEvict', raw, 'delete', (args) => [keyOf(args)])
  return decorate as <T extends This, A extends StartingWith<Args>, R>(
    method: (this: T, ...args: A) => Promise<R>,
    context: ClassMethodDecoratorContext<T, (this: T, ...args: A) => Promise<R>>,
  ) => (this: T, ...args: A) => Promise<R>
}

/**
 * Removes the keys of every item of the method's first argument (an array or iterable), in one
 * `mdelete`: after the method succeeds, or with `before: true` before it runs.
 *
 * @param options.cache the cache, or a function of `this` returning it
 * @param options.keys maps one item to its key. @default the item (string items)
 * @param options.before evict before the call instead of after success. @default false
 * @param options.onCacheError `'ignore'` or `'propagate'`. @default 'ignore'
 * @param options.onEvent receives every cache failure
 * @example
 * ```ts
 * @cacheEvictBatch({ cache: (self: UserService) => self.cache, keys: (id: string) => `user:${id}` })
 * async deleteUsers(ids: string[]): Promise<void> { await this.db.users.deleteMany(ids) }
 * ```
 */
export function cacheEvictBatch<This = unknown, Item = string>(options: CacheEvictBatchOptions<This, Item>) {
  const where = '@cacheEvictBatch'
  const raw = checkOptions(options, where, ['keys', 'before'])
  const keyOf = itemKeyOption(raw.keys, where)
  const decorate = evicting(where, 'cacheEvictBatch', raw, 'mdelete', (args, name) => [...collect(args[0], keyOf, `${where} ${name}`).byKey.keys()])
  return decorate as <T extends This, A extends [items: Iterable<Item>, ...rest: unknown[]], R>(
    method: (this: T, ...args: A) => Promise<R>,
    context: ClassMethodDecoratorContext<T, (this: T, ...args: A) => Promise<R>>,
  ) => (this: T, ...args: A) => Promise<R>
}
