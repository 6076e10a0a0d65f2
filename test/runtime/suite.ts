/**
 * The runtime suite: the same cases on Node, Deno, Bun and workerd, each against real Redis
 * over TCP and over HTTP (the REST bridge). Written once, with no runtime API and no test
 * framework: a per-runtime harness supplies `createCache` (the runtime's own entry, imported
 * by the package name) and reports the JSON this returns.
 */
import type { CacheOptions, TierCache } from 'tiercache'
import { Hono, type ExecutionContext } from 'hono'
import { cacheRoute } from 'tiercache/hono'

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
  /**
   * The Worker's ExecutionContext, on workerd: the Hono apps of the cases get it as
   * `c.executionCtx` (what keeps a background refresh alive there). None elsewhere.
   */
  executionCtx?: { waitUntil(promise: Promise<unknown>): void }
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

// ------------------------------------------------------------------ cacheRoute (tiercache/hono)

/** A whole answer of a Hono app, body read to the end. */
interface Answer {
  status: number
  xCache: string | null
  age: string | null
  etag: string | null
  timing: string
  type: string | null
  bytes: number[]
  text: string
}

async function read(response: Response): Promise<Answer> {
  const bytes = new Uint8Array(await response.arrayBuffer())
  const h = response.headers
  return {
    status: response.status,
    xCache: h.get('x-cache'),
    age: h.get('age'),
    etag: h.get('etag'),
    timing: h.get('server-timing') ?? '',
    type: h.get('content-type'),
    bytes: [...bytes],
    text: new TextDecoder().decode(bytes),
  }
}

/** The strong ETag cacheRoute derives from a body: a quoted base64url SHA-256. */
const STRONG_ETAG = /^"[A-Za-z0-9_-]{43}"$/

/**
 * The Hono ExecutionContext the cases pass to `app.request`: on workerd the Worker's own
 * (`waitUntil` forwarded to it, and recorded), elsewhere none, as on Node, Deno and Bun servers.
 */
function executionContext(base: SuiteContext['executionCtx']): { ctx: ExecutionContext | undefined; waited: Promise<unknown>[] } {
  const waited: Promise<unknown>[] = []
  if (base === undefined) return { ctx: undefined, waited }
  const ctx: ExecutionContext = {
    waitUntil(promise) {
      waited.push(promise)
      base.waitUntil(promise)
    },
    passThroughOnException() {},
    props: {},
  }
  return { ctx, waited }
}

/**
 * Polls `read` every 25 ms until `done` holds for an answer, at most `bound` ms; every answer
 * before it must pass `meanwhile` (which throws otherwise). Resolves to the answer for which
 * `done` held; fails past the bound.
 */
async function until(read: () => Promise<Answer>, done: (a: Answer) => boolean, meanwhile: (a: Answer) => void, bound: number, what: string): Promise<Answer> {
  const started = Date.now()
  for (;;) {
    const answer = await read()
    if (done(answer)) return answer
    meanwhile(answer)
    if (Date.now() - started > bound) {
      const { bytes: _bytes, ...shown } = answer
      throw new AssertionError(`${what}: not within ${bound} ms; last answer ${show(shown)}`)
    }
    await sleep(25)
  }
}

/**
 * A product API cached by `cacheRoute`, as the examples build it: the handler tags its response
 * with `c.set('cacheTags', [...])` and counts its runs per path.
 */
function productApp(cache: TierCache, runs: Map<string, number>, options: { ttl?: string; grace?: string; delayMs?: number } = {}): Hono {
  const count = (path: string): number => {
    const n = (runs.get(path) ?? 0) + 1
    runs.set(path, n)
    return n
  }
  const app = new Hono()
  app.use('*', cacheRoute({ cache, ttl: options.ttl ?? '1m', ...(options.grace === undefined ? {} : { grace: options.grace }) }))
  app.get('/products/:id', async (c) => {
    const id = c.req.param('id')
    c.set('cacheTags', [`product:${id}`])
    const run = count(c.req.path)
    await sleep(options.delayMs ?? 20)
    return c.json({ id, name: `Product ${id}`, run })
  })
  app.get('/products/:id/reviews', async (c) => {
    const id = c.req.param('id')
    c.set('cacheTags', [`product:${id}`])
    return c.json({ id, reviews: [], run: count(c.req.path) })
  })
  // bytes that are not UTF-8: stored as binary, base64 in L2
  app.get('/images/:id', (c) => {
    const run = count(c.req.path)
    return c.body(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 255, 128, 7, run]), 200, { 'content-type': 'image/png' })
  })
  app.get('/swr', async (c) => {
    const run = count(c.req.path)
    await sleep(options.delayMs ?? 20)
    return c.text(`v${run}`)
  })
  return app
}

const routeCases: Case[] = [
  {
    name: "cacheRoute (tiercache/hono): MISS then HIT with X-Cache, Age, ETag, a 304 for If-None-Match, the same bytes, one handler run",
    async run({ ctx, cache }) {
      const runs = new Map<string, number>()
      const { ctx: exec } = executionContext(ctx.executionCtx)
      const app = productApp(cache(), runs)
      const get = async (path: string, headers: Record<string, string> = {}): Promise<Answer> => read(await app.request(path, { headers }, {}, exec))

      const miss = await get('/products/7')
      equal([miss.status, miss.xCache, miss.age], [200, 'MISS', '0'], 'the first answer: status, X-Cache, Age')
      ok(STRONG_ETAG.test(miss.etag ?? ''), `the first answer has a strong ETag, got ${show(miss.etag)}`)
      ok(miss.timing.startsWith('cache;desc="origin";dur='), `the first answer's Server-Timing names the origin, got ${show(miss.timing)}`)
      equal(JSON.parse(miss.text), { id: '7', name: 'Product 7', run: 1 }, 'the first body')

      const hit = await get('/products/7')
      equal([hit.status, hit.xCache, hit.timing, hit.etag, hit.type], [200, 'HIT', 'cache;desc="l1"', miss.etag, miss.type], 'the second answer: status, X-Cache, Server-Timing, ETag, Content-Type')
      ok(/^\d+$/.test(hit.age ?? '') && Number(hit.age) <= 5, `the second answer's Age is whole seconds since the store, got ${show(hit.age)}`)
      equal(hit.bytes, miss.bytes, 'the body bytes of the HIT')

      const notModified = await get('/products/7', { 'if-none-match': miss.etag! })
      equal([notModified.status, notModified.xCache, notModified.etag, notModified.bytes.length], [304, 'HIT', miss.etag, 0], 'a matching If-None-Match: status, X-Cache, ETag, body length')
      const otherTag = await get('/products/7', { 'if-none-match': '"not-the-etag"' })
      equal([otherTag.status, otherTag.xCache, otherTag.bytes], [200, 'HIT', miss.bytes], 'another If-None-Match gets the whole response')
      equal(runs.get('/products/7'), 1, 'handler runs for /products/7')

      // a stampede on a cold route: one handler run, every answer the same bytes
      const answers = await Promise.all(Array.from({ length: 8 }, () => get('/products/8')))
      equal(runs.get('/products/8'), 1, 'handler runs for 8 concurrent requests of /products/8')
      equal(answers.filter((a) => a.xCache === 'MISS').length, 1, 'MISS answers among them')
      equal(new Set(answers.map((a) => a.text)).size, 1, 'distinct bodies among them')
    },
  },
  {
    name: 'cacheRoute: a response stored by one instance is a HIT from L2 on another, JSON and binary byte for byte',
    async run({ ctx, cache }) {
      const runs = new Map<string, number>()
      const { ctx: exec } = executionContext(ctx.executionCtx)
      const a = productApp(cache(), runs)
      const b = productApp(cache(), runs) // another process on the same Redis
      const get = async (app: Hono, path: string): Promise<Answer> => read(await app.request(path, {}, {}, exec))
      for (const path of ['/products/3', '/images/3']) {
        const miss = await get(a, path)
        equal(miss.xCache, 'MISS', `${path} on the first instance`)
        const remote = await get(b, path)
        equal([remote.status, remote.xCache, remote.timing, remote.etag, remote.type], [200, 'HIT', 'cache;desc="l2"', miss.etag, miss.type], `${path} on the other instance: status, X-Cache, Server-Timing, ETag, Content-Type`)
        equal(remote.bytes, miss.bytes, `${path}: the bytes the other instance serves`)
        const local = await get(b, path)
        equal([local.xCache, local.timing, local.bytes], ['HIT', 'cache;desc="l1"', miss.bytes], `${path} again on the other instance, now from its L1`)
        equal(runs.get(path), 1, `handler runs for ${path}`)
      }
      // the binary body, as the other instance decoded it from L2
      equal((await get(productApp(cache(), runs), '/images/3')).bytes, [0x89, 0x50, 0x4e, 0x47, 0, 255, 128, 7, 1], '/images/3 from L2 on a third instance')
    },
  },
  {
    name: "cacheRoute: deleteByTag on one instance turns the routes tagged with c.set('cacheTags') into a MISS on the other",
    async run({ ctx, cache }) {
      const runs = new Map<string, number>()
      const { ctx: exec } = executionContext(ctx.executionCtx)
      const cacheA = cache()
      const a = productApp(cacheA, runs)
      const b = productApp(cache(), runs)
      const get = async (app: Hono, path: string): Promise<Answer> => read(await app.request(path, {}, {}, exec))
      const body = (answer: Answer): unknown => JSON.parse(answer.text)

      for (const path of ['/products/1', '/products/1/reviews', '/products/2']) equal((await get(a, path)).xCache, 'MISS', `${path} on A`)
      for (const path of ['/products/1', '/products/2']) {
        equal((await get(b, path)).timing, 'cache;desc="l2"', `${path} on B, from L2`)
        equal((await get(b, path)).timing, 'cache;desc="l1"', `${path} on B again, from its L1`)
      }

      await cacheA.deleteByTag('product:1')

      // on A itself at once: its L1 and L2 entries are gone
      const own = await get(a, '/products/1/reviews')
      equal([own.xCache, (body(own) as { run: number }).run], ['MISS', 2], '/products/1/reviews on A after the deleteByTag: X-Cache, handler run')
      // on B once the invalidation arrives (Pub/Sub over TCP; stream polling, pollInterval 1 s, over HTTP):
      // until then only its old L1 copy may answer
      const bound = ctx.transport === 'tcp' ? 3000 : 1000 + 4000
      const answer = await until(
        () => get(b, '/products/1'),
        (x) => x.xCache === 'MISS',
        (x) => equal([x.xCache, x.timing, body(x)], ['HIT', 'cache;desc="l1"', { id: '1', name: 'Product 1', run: 1 }], '/products/1 on B before the invalidation arrives'),
        bound,
        '/products/1 on B turning into a MISS after deleteByTag on A',
      )
      equal(body(answer), { id: '1', name: 'Product 1', run: 2 }, '/products/1 on B: the new body')
      const untouched = await get(b, '/products/2')
      equal([untouched.xCache, untouched.timing, (body(untouched) as { run: number }).run], ['HIT', 'cache;desc="l1"', 1], '/products/2 (another tag) on B: still its L1 entry')
      const refilled = await get(a, '/products/1')
      equal([refilled.xCache, refilled.timing, (body(refilled) as { run: number }).run], ['HIT', 'cache;desc="l2"', 2], "/products/1 on A: B's new entry, from L2")
      equal(Object.fromEntries(runs), { '/products/1': 2, '/products/1/reviews': 2, '/products/2': 1 }, 'handler runs per path')
    },
  },
  {
    name: 'cacheRoute: stale-while-revalidate serves STALE at once and runs one background refresh (through executionCtx.waitUntil on workerd)',
    async run({ ctx, cache }) {
      const runs = new Map<string, number>()
      const { ctx: exec, waited } = executionContext(ctx.executionCtx)
      const app = productApp(cache(), runs, { ttl: '1s', grace: '30s', delayMs: 150 })
      const get = async (): Promise<Answer> => read(await app.request('/swr', {}, {}, exec))
      const first = await get()
      equal([first.xCache, first.text], ['MISS', 'v1'], 'the first answer')
      equal([(await get()).xCache], ['HIT'], 'while fresh')
      await sleep(1100)

      // past freshness: five requests at once all get the stale response before the refresh's handler runs
      const before = waited.length
      const responses = await Promise.all(Array.from({ length: 5 }, () => app.request('/swr', {}, {}, exec)))
      equal(runs.get('/swr'), 1, 'handler runs when the stale answers are ready')
      const stale = await Promise.all(responses.map(read))
      equal(stale.map((s) => [s.status, s.xCache, s.text, s.etag]), Array(5).fill([200, 'STALE', 'v1', first.etag]), 'the stale answers: status, X-Cache, body, ETag')
      ok(stale.every((s) => Number(s.age) >= 1), `the stale answers' Age counts from the store, got ${show(stale.map((s) => s.age))}`)

      if (exec !== undefined) {
        // workerd: the refresh is handed to c.executionCtx.waitUntil; once that settles it is done
        equal(waited.length - before, 1, 'refreshes handed to executionCtx.waitUntil')
        await Promise.all(waited)
        equal(runs.get('/swr'), 2, 'handler runs once the waitUntil promise settled')
        const next = await get()
        equal([next.xCache, next.text], ['HIT', 'v2'], 'the next answer once the waitUntil promise settled')
      }
      const answer = await until(
        get,
        (x) => x.xCache === 'HIT',
        (x) => equal([x.xCache, x.text], ['STALE', 'v1'], 'answers while the refresh runs'),
        5000,
        'the background refresh',
      )
      equal(answer.text, 'v2', 'the refreshed body')
      ok(answer.etag !== first.etag && STRONG_ETAG.test(answer.etag ?? ''), `the refreshed entry has its own ETag, got ${show(answer.etag)}`)
      equal(runs.get('/swr'), 2, 'handler runs: the first load and one background refresh')
    },
  },
]

// ------------------------------------------------------------------ the cases

export const cases: Case[] = [
  {
    name: "the export conditions pick the runtime's entry, which gives an lru() L1 and the expected L2",
    async run({ ctx, cache }) {
      equal(ctx.entry.got, ctx.entry.expected, "the entry 'tiercache' resolved to")
      const tiers = Object.values(cache().stats().tiers).map((t) => t.name)
      equal(tiers, ['lru', ctx.l2Name], 'tiers')
      // Workers keep Date.now() (frozen within a request there); the others share a coarse clock
      equal(cache().diagnostics().config.clock, ctx.runtime === 'workerd' ? 'system' : 'coarse', 'the default clock')
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
  ...routeCases,
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
