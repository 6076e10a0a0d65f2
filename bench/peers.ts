/**
 * The subjects of `bench/compare.ts`: raw baselines, tiercache, BentoCache and cache-manager,
 * each set up the way its documentation recommends, behind one small interface so the
 * harness runs the same workloads against all of them.
 *
 * Every cache gets two instances on the same Redis:
 * - a multi-tier one (in-process L1 + Redis L2, plus the library's invalidation bus where it
 *   has one): workloads A (L1 hit), C (stampede) and E (miss + load + set);
 * - an L2-only one (no in-process tier): workloads B (L2 hit) and D (batch of 100).
 */
import { createClient } from 'redis'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis'
import { createCache as createCacheManager } from 'cache-manager'
import { Keyv } from 'keyv'
import KeyvRedis from '@keyv/redis'
import { CacheableMemory } from 'cacheable'
import { createCache } from 'tiercache/node'
import { lru } from 'tiercache/lru'
import { redis } from 'tiercache/redis'
import { VALUE, VALUE_JSON, type Value } from './common.js'

export { VALUE, VALUE_JSON, type Value }


/** Keys every subject holds before the timed rounds start. */
export const KEYS_64 = Array.from({ length: 64 }, (_, i) => `hit-${i}`)
export const KEYS_100 = Array.from({ length: 100 }, (_, i) => `m-${i}`)

/** Long enough that nothing written at setup expires during a run (a run takes minutes). */
const TTL_MS = 3_600_000

export type SubjectName = 'raw' | 'tiercache' | 'bentocache' | 'cache-manager'
export const PEERS: readonly SubjectName[] = ['bentocache', 'cache-manager']

export interface Subject {
  readonly name: SubjectName
  /** One line: how this subject is set up, for the results file and the docs. */
  readonly setup: { multiTier: string; l2Only: string }
  /** A: read `key`, which the multi-tier setup holds in its L1. Raw: `map.get` (awaited by the loop). */
  l1Get(key: string): unknown
  /** B: read `key` from the L2-only setup. */
  l2Get(key: string): Promise<Value | undefined | null>
  /** D: read `keys` from the L2-only setup in one call (or what the library offers). */
  l2Batch(keys: readonly string[]): Promise<readonly (Value | undefined | null)[]>
  /** C and E: read `key` through the multi-tier setup and load it on a miss, single-flight. */
  getOrLoad(key: string, loader: () => Promise<Value> | Value): Promise<Value>
  /** E for the raw baseline differs from C (no single-flight map): GET, then SET on a miss. */
  missLoadSet(key: string, loader: () => Promise<Value> | Value): Promise<Value>
  /** Writes the fixtures: `hit` into the multi-tier setup (and its L1), `hit`, KEYS_64 and KEYS_100 into the L2-only one. */
  prepare(): Promise<void>
  close(): Promise<void>
}

export interface SubjectContext {
  /** redis:// URL of the server every subject uses. */
  url: string
  /** Unique per run: every key a subject writes starts with it, so a shared REDIS_URL is only touched there. */
  runId: string
}

/**
 * Key patterns (SCAN MATCH) that cover everything the subjects write. The harness removes
 * them itself at the end: the libraries' own clear() may flush a whole database
 * (@keyv/redis without a namespace does), which must never happen on a shared REDIS_URL.
 */
export function keyPatterns(runId: string): string[] {
  return [`*${runId}*`]
}

function ioredisConnection(url: string): { host: string; port: number; username?: string; password?: string; db: number } {
  const u = new URL(url)
  return {
    host: u.hostname,
    port: Number(u.port === '' ? 6379 : u.port),
    ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
  }
}

// ---------------------------------------------------------------- raw baselines

/**
 * What a hand-written cache would do with node-redis (per-command timeout off, see below):
 * `await map.get(k)` for an in-process hit,
 * `GET` + `JSON.parse` for a remote hit, `MGET` + parse for a batch, a Map of promises for
 * single-flight, `GET` then `SET … PX` for a miss. The values are parsed because every cache
 * returns objects, not strings.
 */
export async function rawSubject(ctx: SubjectContext): Promise<Subject> {
  // node-redis 6 gives every command a 5 s timeout by default, armed with AbortSignal.timeout:
  // about 14 µs per command on the benchmark VM (64 concurrent GETs: 1.3 ms with it, 0.4 ms
  // without). The baseline is the floor, so it goes without; a cache that keeps it pays it.
  const client = createClient({ url: ctx.url, commandOptions: { timeout: 0 } })
  client.on('error', (error: unknown) => console.error('raw client error:', error))
  await client.connect()
  const prefix = `${ctx.runId}:raw:`
  const map = new Map<string, Value>()
  const inflight = new Map<string, Promise<Value>>()
  const parse = (text: string | null): Value | undefined => (text === null ? undefined : (JSON.parse(text) as Value))
  const px = { expiration: { type: 'PX', value: TTL_MS } } as const
  const loadAndSet = async (k: string, loader: () => Promise<Value> | Value): Promise<Value> => {
    const hit = await client.get(k)
    if (hit !== null) return JSON.parse(hit) as Value
    const value = await loader()
    await client.set(k, JSON.stringify(value), px)
    return value
  }
  return {
    name: 'raw',
    setup: {
      multiTier: 'A: `await map.get(k)`; C: a Map of promises (single-flight) over node-redis GET, loader, SET PX; E: node-redis GET, loader, SET PX',
      l2Only: 'node-redis `GET` + `JSON.parse`; D: one `MGET` + `JSON.parse` of each value',
    },
    l1Get: (key) => map.get(key),
    l2Get: async (key) => parse(await client.get(prefix + key)),
    l2Batch: async (keys) => (await client.mGet(keys.map((key) => prefix + key))).map(parse),
    getOrLoad: (key, loader) => {
      let pending = inflight.get(key)
      if (pending === undefined) {
        pending = loadAndSet(prefix + key, loader).finally(() => inflight.delete(key))
        inflight.set(key, pending)
      }
      return pending
    },
    missLoadSet: (key, loader) => loadAndSet(prefix + key, loader),
    async prepare() {
      map.set('hit', VALUE)
      for (const key of ['hit', ...KEYS_64, ...KEYS_100]) await client.set(prefix + key, VALUE_JSON, px)
    },
    async close() {
      if (client.isOpen) await client.close()
    },
  }
}

// ---------------------------------------------------------------- tiercache

/** tiercache as its README shows it: `lru()` + `redis({ url })`, defaults otherwise (invalidation 'auto' = Pub/Sub). */
export async function tiercacheSubject(ctx: SubjectContext): Promise<Subject> {
  const multi = createCache({ namespace: `${ctx.runId}-tc`, l1: lru(), l2: redis({ url: ctx.url }), ttl: TTL_MS })
  const l2only = createCache({ namespace: `${ctx.runId}-tc2`, l1: false, l2: redis({ url: ctx.url }), ttl: TTL_MS })
  return {
    name: 'tiercache',
    setup: {
      multiTier: "`createCache({ namespace, l1: lru(), l2: redis({ url }), ttl: '1h' })` (invalidation over Pub/Sub, the default)",
      l2Only: '`createCache({ namespace, l1: false, l2: redis({ url }), ttl })`; D: `cache.mget(keys)`',
    },
    l1Get: (key) => multi.get(key),
    l2Get: (key) => l2only.get<Value>(key),
    l2Batch: async (keys) => [...(await l2only.mget<Value>(keys)).values()],
    getOrLoad: (key, loader) => multi.getOrLoad(key, loader),
    missLoadSet: (key, loader) => multi.getOrLoad(key, loader),
    async prepare() {
      await multi.ready()
      await multi.set('hit', VALUE)
      await multi.get('hit')
      await l2only.mset(['hit', ...KEYS_64, ...KEYS_100].map((key) => [key, VALUE] as const))
    },
    async close() {
      await multi.close()
      await l2only.close()
    },
  }
}

// ---------------------------------------------------------------- BentoCache

/**
 * BentoCache as its multi-tier page shows it: `memoryDriver({ maxSize: '10mb' })` as L1,
 * `redisDriver({ connection })` as L2 and `redisBusDriver({ connection })` as the bus (ioredis).
 * It has no batch read: D is `Promise.all` of 100 `get`s, which is what its users write.
 */
export async function bentocacheSubject(ctx: SubjectContext): Promise<Subject> {
  const connection = ioredisConnection(ctx.url)
  const bento = new BentoCache({
    default: 'multitier',
    prefix: `${ctx.runId}-bento`,
    ttl: TTL_MS,
    stores: {
      multitier: bentostore()
        .useL1Layer(memoryDriver({ maxSize: '10mb' }))
        .useL2Layer(redisDriver({ connection }))
        .useBus(redisBusDriver({ connection })),
      l2only: bentostore().useL2Layer(redisDriver({ connection })),
    },
  })
  const l2only = bento.use('l2only')
  return {
    name: 'bentocache',
    setup: {
      multiTier: "`bentostore().useL1Layer(memoryDriver({ maxSize: '10mb' })).useL2Layer(redisDriver({ connection })).useBus(redisBusDriver({ connection }))`",
      l2Only: '`bentostore().useL2Layer(redisDriver({ connection }))`; D: `Promise.all` of 100 `get`s (no batch read in its API)',
    },
    l1Get: (key) => bento.get({ key }),
    l2Get: (key) => l2only.get<Value>({ key }),
    l2Batch: (keys) => Promise.all(keys.map((key) => l2only.get<Value>({ key }))),
    getOrLoad: (key, loader) => bento.getOrSet<Value>({ key, factory: loader }),
    missLoadSet: (key, loader) => bento.getOrSet<Value>({ key, factory: loader }),
    async prepare() {
      await bento.set({ key: 'hit', value: VALUE })
      await bento.get({ key: 'hit' })
      for (const key of ['hit', ...KEYS_64, ...KEYS_100]) await l2only.set({ key, value: VALUE })
    },
    async close() {
      await bento.disconnectAll()
    },
  }
}

// ---------------------------------------------------------------- cache-manager

/**
 * cache-manager v7 as its README shows a tiered cache: `stores: [new Keyv({ store: new
 * CacheableMemory({ ttl, lruSize }) }), new Keyv({ store: new KeyvRedis(url) })]`. C and E go
 * through `wrap` (its single-flight read-through); D is `mget`.
 */
export async function cacheManagerSubject(ctx: SubjectContext): Promise<Subject> {
  const namespace = `${ctx.runId}-cm`
  const multi = createCacheManager({
    stores: [
      new Keyv({ store: new CacheableMemory({ ttl: TTL_MS, lruSize: 10_000 }) }),
      new Keyv({ store: new KeyvRedis(ctx.url), namespace }),
    ],
    ttl: TTL_MS,
  })
  const l2only = createCacheManager({ stores: [new Keyv({ store: new KeyvRedis(ctx.url), namespace: `${namespace}2` })], ttl: TTL_MS })
  return {
    name: 'cache-manager',
    setup: {
      multiTier: '`createCache({ stores: [new Keyv({ store: new CacheableMemory({ ttl, lruSize: 10000 }) }), new Keyv({ store: new KeyvRedis(url) })] })`; C, E: `wrap`',
      l2Only: '`createCache({ stores: [new Keyv({ store: new KeyvRedis(url) })] })`; D: `mget(keys)`',
    },
    l1Get: (key) => multi.get<Value>(key),
    l2Get: (key) => l2only.get<Value>(key),
    l2Batch: (keys) => l2only.mget<Value>([...keys]),
    getOrLoad: (key, loader) => multi.wrap<Value>(key, loader),
    missLoadSet: (key, loader) => multi.wrap<Value>(key, loader),
    async prepare() {
      await multi.set('hit', VALUE)
      await multi.get('hit')
      for (const key of ['hit', ...KEYS_64, ...KEYS_100]) await l2only.set(key, VALUE)
    },
    async close() {
      await multi.disconnect().catch(() => undefined)
      await l2only.disconnect().catch(() => undefined)
    },
  }
}

export const FACTORIES: Record<SubjectName, (ctx: SubjectContext) => Promise<Subject>> = {
  raw: rawSubject,
  tiercache: tiercacheSubject,
  bentocache: bentocacheSubject,
  'cache-manager': cacheManagerSubject,
}
