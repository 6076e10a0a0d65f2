/**
 * unstorage in both directions:
 *
 * - {@link unstorage} turns any unstorage `Storage` or `Driver` (memory, fs, redis, Cloudflare
 *   KV, …) into an L2 store. It keeps the L2 contract (byte-exact keys and values, expiry to
 *   the millisecond) whatever the driver does to keys and values, and whether or not the
 *   driver supports TTLs.
 * - {@link tiercacheDriver} makes a cache usable as an unstorage driver.
 *
 * Key mapping (see {@link encodeUnstorageKey}): unstorage treats `:` and `/` as separators,
 * drops what follows `?`, collapses empty segments and refuses `.`/`..` segments, and the fs
 * driver turns segments into directories. Each `:`-separated segment of a full key is
 * therefore written with `[a-z0-9_-]` kept as is and every other UTF-16 code unit escaped as
 * `%XX` (below U+0100) or `%uXXXX` (uppercase hex). The last segment ends with `~` (so a key
 * never shares its name with the directory of a longer key), an empty inner segment is `!`,
 * and a segment longer than 128 characters is split into pieces that end with `!`.
 *
 * Value format: `tcu1|<expiresAt>|<length>|<value>`. The header carries the logical expiry
 * (checked on every read, so drivers without TTL support expire entries too), the length
 * (a torn read of a half-written file reads as absent, not as a shorter value), and starts
 * with a letter, so unstorage's `destr` parsing never turns it into a number, a boolean or an
 * object.
 * @module
 */
import { createStorage, defineDriver, type Driver, type Storage, type StorageValue, type TransactionOptions } from 'unstorage'
import { systemClock, type Clock, type L2Store, type L2Write } from '../src/contracts.js'
import type { TierCache } from '../src/cache.js'
import { describe } from '../src/duration.js'
import { InvalidOptionError } from '../src/errors.js'
import { checkKnown } from '../src/options.js'

// ---------------------------------------------------------------- key mapping

/** Closes the last segment of a key. Never ends an inner piece, so a file never shares a directory's name. */
const LEAF = '~'
/** Ends a piece continued by the next one; alone, it is an empty inner segment. */
const MORE = '!'
/** Longest piece (before its tag): fits the file name limits of every common file system. */
const PIECE_MAX = 128
/** Segment names file systems or the fs driver treat specially (`node_modules` is ignored by its key listing; the rest are Windows device names). */
const RESERVED = /^(?:node_modules|con|prn|aux|nul|com\d|lpt\d)$/
const KEPT = /[a-z0-9_-]/
const PLAIN = /^[a-z0-9_-]*$/
const BODY = /^(?:[a-z0-9_-]|%[0-9A-F]{2}|%u[0-9A-F]{4})*$/
const ESCAPE = /%u([0-9A-F]{4})|%([0-9A-F]{2})/g

function hex(code: number, digits: number): string {
  return code.toString(16).toUpperCase().padStart(digits, '0')
}

/** The escaped tokens of one segment: a kept character or one escape each. */
function tokens(segment: string): string[] {
  const out: string[] = []
  for (let i = 0; i < segment.length; i++) {
    const char = segment[i]!
    const code = segment.charCodeAt(i)
    out.push(KEPT.test(char) ? char : code < 0x100 ? `%${hex(code, 2)}` : `%u${hex(code, 4)}`)
  }
  if (RESERVED.test(out.join(''))) out[0] = `%${hex(segment.charCodeAt(0), 2)}`
  return out
}

/** The pieces of one segment; `last` marks the key's final segment. */
function encodeSegment(segment: string, last: boolean): string {
  if (segment.length <= PIECE_MAX && PLAIN.test(segment) && !RESERVED.test(segment)) {
    return last ? segment + LEAF : segment === '' ? MORE : segment // the common case, no escapes
  }
  const pieces: string[] = []
  let piece = ''
  for (const token of tokens(segment)) {
    if (piece.length + token.length > PIECE_MAX) {
      pieces.push(piece + MORE)
      piece = ''
    }
    piece += token
  }
  if (last) pieces.push(piece + LEAF)
  else pieces.push(piece === '' ? MORE : piece)
  return pieces.join(':')
}

/**
 * The unstorage key a full L2 key is stored under. The mapping is one-to-one, its output is
 * left unchanged by unstorage's `normalizeKey`, is a valid path for the fs driver (no `.`
 * segments, no name over 129 characters, no name two keys share on a case-insensitive file
 * system), and keeps `:`-prefixes: keys under `a:b:` map to keys under `encode(a):encode(b):`.
 * An encoded key is at most 6 times as long as the key (for keys of non-Latin characters).
 *
 * @example
 * ```ts
 * encodeUnstorageKey('tiercache:user:42')     // 'tiercache:user:42~'
 * encodeUnstorageKey('tiercache:ns:Ab/c?')    // 'tiercache:ns:%41b%2Fc%3F~'
 * encodeUnstorageKey('tiercache:ns:日本')      // 'tiercache:ns:%u65E5%u672C~'
 * ```
 */
export function encodeUnstorageKey(key: string): string {
  const segments = key.split(':')
  return segments.map((segment, i) => encodeSegment(segment, i === segments.length - 1)).join(':')
}

/**
 * The full L2 key an unstorage key stands for, or `undefined` for a key that
 * {@link encodeUnstorageKey} did not produce (such keys are left alone by `clear`).
 *
 * @example
 * ```ts
 * decodeUnstorageKey('tiercache:user:42~') // 'tiercache:user:42'
 * decodeUnstorageKey('some:other:key')     // undefined
 * ```
 */
export function decodeUnstorageKey(stored: string): string | undefined {
  const pieces = stored.split(':')
  const last = pieces.pop()!
  if (!last.endsWith(LEAF)) return undefined
  const segments: string[] = []
  let current = ''
  for (const piece of pieces) {
    if (piece === MORE && current === '') segments.push('')
    else if (piece.endsWith(MORE)) current += piece.slice(0, -1)
    else {
      segments.push(current + piece)
      current = ''
    }
  }
  segments.push(current + last.slice(0, -1))
  if (!segments.every((body) => BODY.test(body))) return undefined
  const key = segments
    .map((body) => body.replace(ESCAPE, (_, wide: string | undefined, narrow: string | undefined) => String.fromCharCode(parseInt(wide ?? narrow!, 16))))
    .join(':')
  // only the canonical form counts: one stored key per L2 key
  return encodeUnstorageKey(key) === stored ? key : undefined
}

/** The unstorage base under which every key starting with `prefix` is stored: its complete segments. */
function baseOf(prefix: string): string {
  const complete = prefix.split(':').slice(0, -1)
  return complete.map((segment) => encodeSegment(segment, false)).join(':')
}

// ---------------------------------------------------------------- value format

const HEADER = 'tcu1|'
const decoder = new TextDecoder()

function wrap(value: string, expiresAt: number): string {
  return `${HEADER}${expiresAt}|${value.length}|${value}`
}

/** Reads a stored item; `undefined` for anything this adapter did not write (or a torn write). */
function unwrap(raw: unknown): { value: string; expiresAt: number } | undefined {
  const text = typeof raw === 'string' ? raw : raw instanceof Uint8Array ? decoder.decode(raw) : undefined
  if (text === undefined || !text.startsWith(HEADER)) return undefined
  const a = HEADER.length
  const b = text.indexOf('|', a)
  const c = b < 0 ? -1 : text.indexOf('|', b + 1)
  if (c < 0) return undefined
  const expiresAt = Number(text.slice(a, b))
  const length = Number(text.slice(b + 1, c))
  if (!Number.isSafeInteger(expiresAt) || !Number.isSafeInteger(length) || text.length - c - 1 !== length) return undefined
  return { value: text.slice(c + 1), expiresAt }
}

// ---------------------------------------------------------------- unstorage → L2

/** Options of {@link unstorage}. */
export interface UnstorageStoreOptions {
  /**
   * Also give each write's TTL to the driver as `{ ttl: seconds }` (rounded up, so the driver
   * never drops an entry before its logical expiry). Drivers with native expiry (redis,
   * upstash, Cloudflare KV, Deno KV, Vercel KV) then remove expired entries themselves; the
   * rest ignore it and expired entries are removed when read or cleared. @default true
   */
  driverTtl?: boolean
  /** Time source for the logical expiry. @default systemClock */
  clock?: Clock
  /** Shown in stats and errors. @default `unstorage:<driver name>`, or `unstorage` for a driver without a name */
  name?: string
}

/** The store returned by {@link unstorage}; `storage` is the unstorage instance it writes to. */
export interface UnstorageStore extends L2Store {
  readonly storage: Storage
  mget(keys: readonly string[]): Promise<(string | null)[]>
  mset(writes: readonly L2Write[]): Promise<void>
  close(): Promise<void>
}

const KNOWN = new Set(['driverTtl', 'clock', 'name'])
/** Removals run this many at a time (unstorage has no batch removal). */
const REMOVE_BATCH = 100

const isFunction = (value: unknown): boolean => typeof value === 'function'

function isStorage(value: object): value is Storage {
  const s = value as Record<string, unknown>
  return ['getItem', 'getItems', 'setItem', 'setItems', 'removeItem', 'getKeys', 'getMount', 'dispose'].every((name) => isFunction(s[name]))
}

function isDriver(value: object): value is Driver {
  const d = value as Record<string, unknown>
  return ['hasItem', 'getItem', 'getKeys'].every((name) => isFunction(d[name]))
}

/**
 * Creates an L2 store over unstorage. Give it a `Storage` (from `createStorage`, possibly
 * with mounts or wrapped by `prefixStorage`), which it uses and never disposes, or a `Driver`
 * (`memoryDriver()`, `fsDriver({ base })`, `redisDriver({ url })`, …), which it wraps in a
 * storage of its own and disposes on `close()`.
 *
 * Keys are encoded (see {@link encodeUnstorageKey}) and values wrapped with their expiry,
 * so the store keeps the L2 contract on every driver: arbitrary keys, byte-exact values
 * (`''`, `'123'` and `'{"a":1}'` stay strings), expiry to the millisecond even on drivers
 * without TTLs. `mget` is one `getItems` call, `mset` one `setItems` call (batched on the
 * drivers that support it). `clear(prefix)` lists the keys under the prefix's complete
 * segments with `getKeys` and removes the matches.
 *
 * @param storageOrDriver an unstorage `Storage` or `Driver` that can write (`setItem`, `removeItem`)
 * @param options `driverTtl` (default `true`), `clock` (default `systemClock`), `name`
 * @example
 * ```ts
 * import { createCache } from 'tiercache'
 * import { lru } from 'tiercache/lru'
 * import { unstorage } from 'tiercache/unstorage'
 * import fsDriver from 'unstorage/drivers/fs'
 * const cache = createCache({ namespace: 'user', l1: lru(), l2: unstorage(fsDriver({ base: './.cache' })) })
 * ```
 */
export function unstorage(storageOrDriver: Storage | Driver, options: UnstorageStoreOptions = {}): UnstorageStore {
  const given = storageOrDriver as unknown
  if (given === null || typeof given !== 'object') {
    throw new InvalidOptionError(`unstorage() needs an unstorage Storage (createStorage()) or Driver (e.g. memoryDriver()); got ${describe(given)}`, { option: 'unstorage' })
  }
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError(`unstorage() options must be an object; got ${describe(options)}`, { option: 'unstorage' })
  }
  checkKnown(options, KNOWN, 'unstorage')
  const clock = options.clock ?? systemClock
  if (typeof clock?.now !== 'function') throw new InvalidOptionError('unstorage.clock must have a now() method', { option: 'unstorage.clock' })
  if (options.driverTtl !== undefined && typeof options.driverTtl !== 'boolean') {
    throw new InvalidOptionError(`unstorage.driverTtl must be a boolean; got ${describe(options.driverTtl)}`, { option: 'unstorage.driverTtl' })
  }
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length === 0)) {
    throw new InvalidOptionError(`unstorage.name must be a non-empty string; got ${describe(options.name)}`, { option: 'unstorage.name' })
  }

  // a Storage is used as given; a Driver gets a storage of our own, disposed on close()
  const owned = !isStorage(given)
  if (owned && !isDriver(given)) {
    const keys = Object.keys(given).slice(0, 8).join(', ')
    throw new InvalidOptionError(
      `unstorage() needs an unstorage Storage (createStorage()) or Driver (with hasItem, getItem and getKeys); got an object with ${keys === '' ? 'no keys' : `the keys ${keys}`}`,
      { option: 'unstorage' },
    )
  }
  const driver = owned ? (given as Driver) : ((given as Storage).getMount('').driver as Driver | undefined)
  // unstorage silently drops writes to a driver without setItem/removeItem: refuse it instead
  if (driver !== undefined && (!isFunction(driver.setItem) || !isFunction(driver.removeItem))) {
    throw new InvalidOptionError(`unstorage(): the driver '${driver.name ?? 'unnamed'}' is read-only (no setItem/removeItem); an L2 must be writable`, { option: 'unstorage' })
  }
  const storage = owned ? createStorage({ driver: given as Driver }) : (given as Storage)

  const name = options.name ?? (typeof driver?.name === 'string' && driver.name !== '' ? `unstorage:${driver.name}` : 'unstorage')
  const driverTtl = options.driverTtl ?? true
  const writeOptions = (ttl: number): TransactionOptions | undefined => (driverTtl ? { ttl: Math.max(1, Math.ceil(ttl / 1000)) } : undefined)
  let closed = false

  const removeAll = async (keys: readonly string[]): Promise<void> => {
    for (let i = 0; i < keys.length; i += REMOVE_BATCH) {
      await Promise.all(keys.slice(i, i + REMOVE_BATCH).map((key) => storage.removeItem(key)))
    }
  }
  // Lazy removal of expired items. A writer may have stored a fresh value since the read; removing
  // it costs one miss, never a wrong value. A failure is ignored: the item still reads as absent.
  const dropExpired = (keys: readonly string[]): Promise<void> => removeAll(keys).catch(() => undefined)

  return {
    kind: 'l2',
    name,
    storage,
    async get(key) {
      const stored = encodeUnstorageKey(key)
      const item = unwrap(await storage.getItem(stored))
      if (item === undefined) return null
      if (item.expiresAt <= clock.now()) {
        await dropExpired([stored])
        return null
      }
      return item.value
    },
    async mget(keys) {
      if (keys.length === 0) return []
      const stored = keys.map(encodeUnstorageKey)
      const unique = [...new Set(stored)]
      const results = await storage.getItems(unique)
      const byKey = new Map<string, unknown>()
      for (const result of results) byKey.set(result.key, result.value)
      const now = clock.now()
      const values = new Map<string, string>()
      const expired: string[] = []
      for (const key of unique) {
        const item = unwrap(byKey.get(key))
        if (item === undefined) continue
        if (item.expiresAt <= now) expired.push(key)
        else values.set(key, item.value)
      }
      if (expired.length > 0) await dropExpired(expired)
      return stored.map((key) => values.get(key) ?? null)
    },
    async set(key, value, ttl) {
      await storage.setItem(encodeUnstorageKey(key), wrap(value, clock.now() + ttl), writeOptions(ttl))
    },
    async mset(writes: readonly L2Write[]) {
      if (writes.length === 0) return
      const now = clock.now()
      const last = new Map<string, L2Write>() // a key written twice keeps its last write
      for (const w of writes) last.set(encodeUnstorageKey(w.key), w)
      await storage.setItems([...last].map(([key, w]) => {
        const options = writeOptions(w.ttl)
        const item = { key, value: wrap(w.value, now + w.ttl) }
        return options === undefined ? item : { ...item, options }
      }))
    },
    async delete(keys) {
      await removeAll([...new Set(keys.map(encodeUnstorageKey))])
    },
    async clear(prefix) {
      const listed = await storage.getKeys(baseOf(prefix))
      const matches = listed.filter((key) => decodeUnstorageKey(key)?.startsWith(prefix) === true)
      await removeAll(matches)
      return matches.length
    },
    async close() {
      if (!owned || closed) return
      closed = true
      await storage.dispose()
    },
  }
}

// ---------------------------------------------------------------- TierCache → unstorage driver

/**
 * An unstorage driver over a cache: `createStorage({ driver: tiercacheDriver(cache) })`.
 *
 * - Keys: unstorage normalizes keys before a driver sees them (`a/b` → `a:b`, leading and
 *   trailing separators and anything after `?` dropped, a mount's base removed), and the
 *   cache stores that key in its namespace: `storage.setItem('user/1', …)` is
 *   `cache.get('user:1')`.
 * - Values: unstorage hands drivers strings (`JSON.stringify` for objects, `String` for
 *   primitives), so the cache holds `'{"a":1}'` for `storage.setItem(k, { a: 1 })`; unstorage's
 *   `getItem` parses it back. Values the cache was given directly come back as they are
 *   (a `Map` stays a `Map`). `setItemRaw` stores the raw value (e.g. a `Uint8Array`).
 * - TTL: `{ ttl: seconds }` on `setItem`/`setItems`, else the cache's `ttl`.
 * - Reads never run the cache's loader; a negative entry (`null`) reads as absent.
 * - A cache cannot list its keys: `getKeys` resolves to `[]`, and `clear()` (with or without
 *   a base) clears the cache's whole namespace, which never leaves a stale entry behind.
 * - `dispose` leaves the cache open: close it yourself.
 *
 * @param cache the cache to expose (from `createCache`)
 * @example
 * ```ts
 * import { createStorage } from 'unstorage'
 * import { createCache } from 'tiercache'
 * import { tiercacheDriver } from 'tiercache/unstorage'
 * const cache = createCache({ namespace: 'pages', ttl: '10m' })
 * const storage = createStorage({ driver: tiercacheDriver(cache) })
 * await storage.setItem('home', { html: '…' }, { ttl: 60 })
 * ```
 */
export const tiercacheDriver: (cache: TierCache) => Driver<TierCache, TierCache> = defineDriver<TierCache, TierCache>((cache) => {
  const c = cache as unknown as Record<string, unknown> | null
  const methods = ['get', 'getOrLoad', 'set', 'mget', 'mset', 'delete', 'clear', 'stats']
  if (c === null || typeof c !== 'object' || typeof c.namespace !== 'string' || !methods.every((name) => isFunction(c[name]))) {
    throw new InvalidOptionError(`tiercacheDriver() needs a cache from createCache(); got ${describe(cache)}`, { option: 'tiercacheDriver' })
  }
  const ttlOf = (options: TransactionOptions | undefined): { ttl: number } | undefined => {
    const seconds: unknown = options?.ttl
    if (seconds === undefined || seconds === null || seconds === 0) return undefined
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
      throw new InvalidOptionError(`tiercacheDriver: ttl must be a positive number of seconds; got ${describe(seconds)}`, { option: 'ttl', namespace: cache.namespace })
    }
    return { ttl: seconds * 1000 }
  }
  const read = async (key: string): Promise<StorageValue> => (await cache.get<StorageValue>(key, { disableLoad: true })) ?? null
  const write = (key: string, value: unknown, options: TransactionOptions | undefined): Promise<void> => cache.set(key, value, ttlOf(options))

  return {
    name: 'tiercache',
    flags: { ttl: true },
    getInstance: () => cache,
    hasItem: async (key) => (await read(key)) !== null,
    getItem: read,
    getItemRaw: read,
    async getItems(items) {
      const values = await cache.mget(items.map((item) => item.key))
      return items.map((item) => ({ key: item.key, value: (values.get(item.key) ?? null) as StorageValue }))
    },
    setItem: write,
    setItemRaw: write,
    async setItems(items, commonOptions) {
      // one mset per distinct TTL
      const groups = new Map<number | undefined, [string, unknown][]>()
      for (const item of items) {
        const ttl = ttlOf({ ...commonOptions, ...item.options })?.ttl
        let group = groups.get(ttl)
        if (group === undefined) groups.set(ttl, (group = []))
        group.push([item.key, item.value])
      }
      await Promise.all([...groups].map(([ttl, entries]) => cache.mset(entries, ttl === undefined ? undefined : { ttl })))
    },
    removeItem: (key) => cache.delete(key),
    getKeys: () => [],
    clear: () => cache.clear(),
  }
})
