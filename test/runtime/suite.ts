/**
 * The runtime suite: the same cases on Node, Deno, Bun and workerd, each against real Redis
 * over TCP and over HTTP (the REST bridge). Written once, with no runtime API and no test
 * framework: a per-runtime harness supplies `createCache` (the runtime's own entry, imported
 * by the package name) and reports the JSON this returns.
 */
import type { CacheOptions, TierCache } from 'tiercache'
import { Hono } from 'hono'

export type Transport = 'tcp' | 'http'

/** What a harness gives the suite. */
export interface SuiteContext {
  runtime: string
  transport: Transport
  /** The L2 the runtime's defaults must have picked: `redis` over TCP, `upstash` over HTTP. */
  l2Name: string
  /** `runtime` as exported by the `tiercache` the harness imported, and the entry it must be. */
  entry: { got: string; expected: string }
  /**
   * Creates a cache as the runtime's users would. Every call is a separate instance (its own
   * L1, its own connection) on the same Redis, like another process.
   */
  createCache(options: CacheOptions): TierCache
}

export interface CaseResult {
  name: string
  ok: boolean
  ms: number
  error?: string
}

export interface SuiteReport {
  runtime: string
  transport: Transport
  passed: number
  failed: number
  ms: number
  results: CaseResult[]
}

/** What each case gets: caches in a namespace of its own, removed after the case. */
export interface Kit {
  ctx: SuiteContext
  /** A new cache instance in this case's namespace (options override the suite's defaults). */
  cache(options?: Partial<CacheOptions>): TierCache
}

export interface Case {
  name: string
  run(kit: Kit): Promise<void>
}

// ------------------------------------------------------------------ a tiny assert

export class AssertionError extends Error {
  override name = 'AssertionError'
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined'
  try {
    return JSON.stringify(value, (_key, v: unknown) =>
      typeof v === 'bigint' ? `${v}n`
      : v instanceof Map ? { Map: [...v] }
      : v instanceof Set ? { Set: [...v] }
      : v === undefined ? '<undefined>'
      : v)
  } catch {
    return String(value)
  }
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime()
  if (a instanceof Map && b instanceof Map) return a.size === b.size && [...a].every(([k, v]) => b.has(k) && deepEqual(v, b.get(k)))
  if (a instanceof Set && b instanceof Set) return a.size === b.size && [...a].every((v) => b.has(v))
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]))
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  }
  return false
}

export function equal(actual: unknown, expected: unknown, what: string): void {
  if (!deepEqual(actual, expected)) throw new AssertionError(`${what}: expected ${show(expected)}, got ${show(actual)}`)
}

export function ok(condition: unknown, what: string): void {
  if (!condition) throw new AssertionError(what)
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

// ------------------------------------------------------------------ the cases

export const cases: Case[] = [
  {
    name: "the export conditions pick the runtime's entry, which gives an lru() L1 and the expected L2",
    async run({ ctx, cache }) {
      equal(ctx.entry.got, ctx.entry.expected, "the entry 'tiercache' resolved to")
      const tiers = Object.values(cache().stats().tiers).map((t) => t.name)
      equal(tiers, ['lru', ctx.l2Name], 'tiers')
    },
  },
  {
    name: 'get and set: values round-trip through L2 to another instance',
    async run({ cache }) {
      const a = cache()
      const value = { n: 1, at: new Date(1_700_000_000_000), tags: new Set(['x']), by: new Map([['k', [1, 2]]]), big: 2n ** 70n }
      equal(await a.get('k'), undefined, 'a missing key')
      await a.set('k', value)
      // b starts after the write: the write's invalidation message, delivered late on a busy
      // machine, would otherwise drop the entry b just promoted into its L1
      const b = cache()
      equal(await a.get('k'), value, 'the L1 hit')
      equal(await b.get('k'), value, 'the L2 hit in another instance')
      equal(b.stats().tiers.l2?.hits, 1, 'L2 hits of the other instance')
      equal(await b.get('k'), value, 'then an L1 hit there')
      equal(b.stats().tiers.l1?.hits, 1, 'L1 hits of the other instance')
    },
  },
  {
    name: 'getOrLoad: a miss loads once, later calls and other instances hit',
    async run({ cache }) {
      const a = cache()
      const b = cache()
      let loads = 0
      const loader = async (key: string): Promise<{ key: string }> => (loads++, { key })
      equal(await a.getOrLoad('p:1', loader), { key: 'p:1' }, 'the loaded value')
      equal(await a.getOrLoad('p:1', loader), { key: 'p:1' }, 'the cached value')
      equal(await b.getOrLoad('p:1', loader), { key: 'p:1' }, 'the value in another instance')
      equal(loads, 1, 'loader calls')
    },
  },
  {
    name: 'single-flight: 20 concurrent misses of one key run the loader once',
    async run({ cache }) {
      const a = cache()
      let loads = 0
      const loader = async (): Promise<string> => {
        loads++
        await sleep(50)
        return 'v'
      }
      const values = await Promise.all(Array.from({ length: 20 }, () => a.getOrLoad('hot', loader)))
      equal(values, Array(20).fill('v'), 'every caller got the value')
      equal(loads, 1, 'loader calls')
      equal(a.stats().loads, 1, 'stats().loads')
    },
  },
  {
    name: 'negative caching: a loader null is cached and read back as null',
    async run({ cache }) {
      const a = cache({ nullTtl: '30s' })
      const b = cache()
      let loads = 0
      equal(await a.getOrLoad('none', () => (loads++, null)), null, 'the first load')
      equal(await a.getOrLoad('none', () => (loads++, 'found')), null, 'read back from L1')
      equal(await b.getOrLoad('none', () => (loads++, 'found')), null, 'read back from L2 by another instance')
      equal(await b.get('none'), null, 'get')
      equal(loads, 1, 'loader calls')
    },
  },
  {
    name: 'mget and mgetOrLoad: one batch, misses only to the batch loader',
    async run({ cache }) {
      const a = cache()
      const b = cache()
      await a.mset([['a', 1], ['b', { two: 2 }]])
      const got = await b.mget(['a', 'b', 'c'])
      equal(got, new Map<string, unknown>([['a', 1], ['b', { two: 2 }], ['c', undefined]]), 'mget from another instance')
      const asked: string[][] = []
      const loaded = await b.mgetOrLoad(['a', 'c', 'd', 'c'], async (keys) => {
        asked.push(keys)
        return { c: 'C' } // d left out: cached as null
      })
      equal(asked, [['c', 'd']], 'keys given to the batch loader')
      equal(loaded, new Map<string, unknown>([['a', 1], ['c', 'C'], ['d', null]]), 'mgetOrLoad')
      equal(await a.mget(['c', 'd']), new Map<string, unknown>([['c', 'C'], ['d', null]]), 'the loaded keys, from L2 in the first instance')
    },
  },
  {
    name: 'delete removes a key from L1 and L2',
    async run({ cache }) {
      const a = cache()
      await a.set('gone', 'soon')
      equal(await cache().get('gone'), 'soon', 'before the delete, in another instance')
      await a.delete('gone')
      equal(await a.get('gone'), undefined, 'after the delete, same instance')
      equal(await cache().get('gone'), undefined, 'after the delete, a new instance (L2)')
      let loads = 0
      equal(await a.getOrLoad('gone', () => (loads++, 'again')), 'again', 'getOrLoad after the delete')
      equal(loads, 1, 'loader calls')
    },
  },
  {
    name: 'TTL: entries expire from L1 and L2',
    async run({ cache }) {
      const a = cache({ ttl: 300, jitter: 0 })
      await a.set('brief', 'here')
      equal(await a.get('brief'), 'here', 'before expiry')
      equal(await cache({ l1: false }).get('brief'), 'here', 'before expiry, L2 only')
      await sleep(450)
      equal(await a.get('brief'), undefined, 'after expiry')
      equal(await cache({ l1: false }).get('brief'), undefined, 'after expiry, L2 only')
      await a.set('longer', 'here', { ttl: '1m' })
      equal(await a.get('longer'), 'here', 'a per-call ttl')
    },
  },
  {
    name: 'a Hono route served through the cache: MISS, then HIT, then HIT on another instance',
    async run({ cache }) {
      let queries = 0
      const appOn = (c: TierCache): Hono => {
        const app = new Hono()
        app.get('/products/:id', async (context) => {
          const id = context.req.param('id')
          let loaded = false
          const product = await c.getOrLoad(`product:${id}`, async () => {
            loaded = true
            queries++
            await sleep(20)
            return { id, name: `Product ${id}` }
          })
          context.header('X-Cache', loaded ? 'MISS' : 'HIT')
          return context.json(product)
        })
        return app
      }
      const first = appOn(cache())
      const miss = await first.request('/products/7')
      equal(miss.status, 200, 'status')
      equal(miss.headers.get('x-cache'), 'MISS', 'first X-Cache')
      equal(await miss.json(), { id: '7', name: 'Product 7' }, 'first body')
      const hit = await first.request('/products/7')
      equal(hit.headers.get('x-cache'), 'HIT', 'second X-Cache')
      equal(await hit.json(), { id: '7', name: 'Product 7' }, 'second body')
      const other = await appOn(cache()).request('/products/7')
      equal(other.headers.get('x-cache'), 'HIT', 'X-Cache on another instance')
      equal(queries, 1, 'data source queries')
    },
  },
]

function randomId(): string {
  return Math.random().toString(36).slice(2, 10)
}

/**
 * Runs every case (or those whose name includes `only`) in order, each in its own namespace
 * with a time limit; afterwards checks that no L2 operation failed, then clears and closes
 * the case's caches.
 */
export async function runSuite(ctx: SuiteContext, options: { caseTimeoutMs?: number; only?: string; extra?: Case[] } = {}): Promise<SuiteReport> {
  const started = Date.now()
  const results: CaseResult[] = []
  const limit = options.caseTimeoutMs ?? 15_000
  for (const c of [...cases, ...(options.extra ?? [])]) {
    if (options.only !== undefined && !c.name.includes(options.only)) continue
    const namespace = `rt-${ctx.runtime}-${ctx.transport}-${randomId()}`
    const open: TierCache[] = []
    const l2Errors: string[] = []
    const kit: Kit = {
      ctx,
      cache: (overrides = {}) => {
        const onEvent: CacheOptions['onEvent'] = (event) => {
          if (event.type === 'l2:error') l2Errors.push(`${event.operation}: ${event.error.message}`)
        }
        const cache = ctx.createCache({ namespace, onEvent, ...overrides })
        open.push(cache)
        return cache
      },
    }
    const t0 = Date.now()
    let error: string | undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      await Promise.race([
        c.run(kit),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${limit} ms`)), limit)
        }),
      ])
      const failedOps = open.reduce((n, cache) => n + cache.stats().l2Errors, 0)
      if (failedOps > 0) throw new AssertionError(`${failedOps} L2 operation(s) failed: ${l2Errors.slice(0, 3).join('; ')}`)
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
      if (l2Errors.length > 0 && !error.includes('L2 operation')) error += ` (L2 errors: ${l2Errors.slice(0, 3).join('; ')})`
    } finally {
      clearTimeout(timer)
    }
    for (const cache of open) {
      await cache.clear().catch(() => undefined)
      await cache.close().catch(() => undefined)
    }
    results.push({ name: c.name, ok: error === undefined, ms: Date.now() - t0, ...(error === undefined ? {} : { error }) })
  }
  const passed = results.filter((r) => r.ok).length
  return { runtime: ctx.runtime, transport: ctx.transport, passed, failed: results.length - passed, ms: Date.now() - started, results }
}

/** The line a harness prints for the driver: a marker, then the reports as JSON. */
export const REPORT_MARKER = '@@tiercache-runtime-report '
