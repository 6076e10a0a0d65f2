/**
 * Core latency benchmark: tiercache against raw baselines measured in the same process.
 *
 *   (A) L1 hit            cache.get (l1: lru(), l2: false)   vs  await Map#get
 *   (B) L2 hit            cache.get (l1: false, l2: redis)   vs  await client.get(fullKey)
 *   (C) miss + load + set cache.getOrLoad (l2: redis)        vs  await client.get + client.set PX
 *   (D) L2 hit over HTTP  cache.get (l1: false, l2: upstash) vs  raw @upstash/redis GET, both through
 *                         the same REST bridge (the tiercache-bridge bin, in its own process)
 *   (E) 64 concurrent gets over HTTP, 64 distinct keys, the same two sides; throughput
 *   (F) mget of 100 L2-only keys        cache.mget (l1: false)   vs  raw MGET
 *   (G) 64 concurrent single gets of L2-only keys over TCP      vs  64 concurrent raw GETs
 *   (H) 1000-caller stampede on one cold key, 20 ms loader      vs  a plain single-flight
 *                         (a Map of promises) over raw GET + SET
 *
 * Each round runs every workload once, cache and baseline back to back, alternating which
 * goes first so warm-up and GC drift do not favour one side. The table shows the median
 * over rounds of each per-round statistic and the ratio of those medians. It only reports:
 * there are no timing assertions, and the exit code does not depend on the numbers.
 *
 * Run: `npx tsx bench/core.ts` (uses REDIS_URL if set, else spawns a private redis-server).
 * Writes bench/results/core-latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient } from 'redis'
import { createCache } from 'tiercache'
import { lru } from 'tiercache/lru'
import { redis } from 'tiercache/redis'
import { benchRedis, loadNow, machineRecord, redisVersionOf, check, median, nowNs as now, VALUE, VALUE_JSON, type Value } from './common.js'
import { upstash } from 'tiercache/upstash'
import { Redis as UpstashRedis } from '@upstash/redis'
import { startPrintingUrl } from '../test/support/process.js'

const ROUNDS = 7
const L1_OPS = 1_000_000 // per side per round; ~50-150 ns each
const L1_WARMUP = 200_000
const L2_OPS = 2_000 // per side per round; one loopback round trip each
const MISS_OPS = 1_000 // per side per round; two round trips each
const L2_WARMUP = 500
const A_TARGET = 2.0
const HTTP_OPS = 600 // per side per round; one HTTP request each
const HTTP_BATCHES = 40 // per side per round, 64 concurrent gets each
const CONCURRENCY = 64
const MGET_OPS = 300 // per side per round
const CONCURRENT_BATCHES = 100 // per side per round, 64 gets each
const STAMPEDES = 6 // per side per round, 1000 callers each
const STAMPEDE_CALLERS = 1000
const STAMPEDE_LOADER_MS = 20


// ---------------------------------------------------------------- helpers


/** Runs `op` n times sequentially and returns ns/op over the whole loop. */
async function loopNs(n: number, op: () => Promise<unknown> | unknown): Promise<number> {
  let sink = 0
  const start = now()
  for (let i = 0; i < n; i++) {
    const v = (await op()) as Value | undefined
    if (v !== undefined) sink += v.id & 1 // keeps the result observably used
  }
  const elapsed = Number(now() - start)
  if (sink === -1) console.log(sink)
  return elapsed / n
}

interface OpStats { meanUs: number; p50Us: number }

/** Runs `op(i)` n times sequentially, timing each call; returns mean and p50 in µs. */
async function sampleUs(n: number, op: (i: number) => Promise<unknown>): Promise<OpStats> {
  const samples = new Float64Array(n)
  const start = now()
  for (let i = 0; i < n; i++) {
    const t0 = now()
    await op(i)
    samples[i] = Number(now() - t0) / 1000
  }
  const meanUs = Number(now() - start) / 1000 / n
  samples.sort()
  return { meanUs, p50Us: samples[n >> 1]! }
}

/** Runs the pair in alternating order per round so neither side always goes first. */
async function pair<T>(round: number, a: () => Promise<T>, b: () => Promise<T>): Promise<[T, T]> {
  if (round % 2 === 0) {
    const ra = await a()
    return [ra, await b()]
  }
  const rb = await b()
  return [await a(), rb]
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const wallStart = Date.now()
  // Other work on the box (tests, builds) skews both sides; recorded so runs can be compared.
  const loadAtStart = loadNow()
  const { url, server } = await benchRedis()

  // Unique per run so a shared Redis (REDIS_URL) is never touched outside this namespace.
  const namespace = `bench-${process.pid}-${Date.now().toString(36)}`
  const prefix = `tiercache:${namespace}:`
  const l1Cache = createCache({ namespace: `${namespace}-l1`, l1: lru(), l2: false, jitter: 0 })
  const l2Cache = createCache({ namespace, l1: false, l2: redis({ url }), jitter: 0 })
  const client = createClient({ url })
  client.on('error', (error: unknown) => console.error('raw client error:', error))
  // The bridge runs in a process of its own, as it would in production, so its work does
  // not share this event loop with either side being measured. Needs `npm run build`.
  const token = `bench-token-${process.pid}-${Date.now()}`
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'adapters', 'bridge', 'cli.js')
  const bridge = await startPrintingUrl(process.execPath, [cli], { REDIS_URL: url, BRIDGE_TOKEN: token, PORT: '0', HOST: '127.0.0.1' })
  const httpCache = createCache({ namespace: `${namespace}-http`, l1: false, l2: upstash({ url: bridge.url, token }), jitter: 0 })
  const rawHttp = new UpstashRedis({ url: bridge.url, token, automaticDeserialization: false, enableTelemetry: false })

  try {
    await client.connect()
    const redisVersion = redisVersionOf(await client.info('server'))

    // ---- setup: same value behind each side
    const map = new Map<string, Value>([['hit', VALUE]])
    await l1Cache.set('hit', VALUE)
    await l2Cache.set('hit', VALUE)
    await client.set(`${prefix}raw-hit`, VALUE_JSON)
    check(await l1Cache.get('hit'), 'A cache')
    check(map.get('hit'), 'A map')
    check(await l2Cache.get('hit'), 'B cache')
    check(JSON.parse((await client.get(`${prefix}raw-hit`))!), 'B raw')
    const keys64 = Array.from({ length: CONCURRENCY }, (_, i) => `hit-${i}`)
    await httpCache.mset(keys64.map((key) => [key, VALUE] as const))
    for (const key of keys64) await client.set(`${prefix}raw-${key}`, VALUE_JSON)
    await httpCache.set('hit', VALUE)
    const keys100 = Array.from({ length: 100 }, (_, i) => `m-${i}`)
    await l2Cache.mset(keys100.map((key) => [key, VALUE] as const))
    await l2Cache.mset(keys64.map((key) => [key, VALUE] as const))
    for (const key of keys100) await client.set(`${prefix}raw-${key}`, VALUE_JSON)
    check(await httpCache.get('hit'), 'D cache')
    check(JSON.parse((await rawHttp.get<string>(`${prefix}raw-hit`))!), 'D raw')

    // Bodies of the loops, one closure per workload so each call site stays monomorphic.
    const aCache = (): Promise<unknown> => l1Cache.get('hit')
    const aMap = (): Value | undefined => map.get('hit')
    const bCache = (): Promise<unknown> => l2Cache.get('hit')
    const bRaw = (): Promise<unknown> => client.get(`${prefix}raw-hit`)
    const loader = (): Value => VALUE
    let missSeq = 0 // unique keys across warmup and rounds
    const cCache = async (): Promise<void> => {
      const v = await l2Cache.getOrLoad(`miss-${missSeq++}`, loader)
      check(v, 'C cache')
    }
    const cRaw = async (): Promise<void> => {
      const k = `${prefix}raw-miss-${missSeq++}`
      if ((await client.get(k)) === null) {
        await client.set(k, JSON.stringify(loader()), { expiration: { type: 'PX', value: 60_000 } })
      }
    }

    const dCache = (): Promise<unknown> => httpCache.get('hit')
    const dRaw = (): Promise<unknown> => rawHttp.get(`${prefix}raw-hit`)
    const eCache = async (): Promise<void> => {
      const values = await Promise.all(keys64.map((key) => httpCache.get(key)))
      check(values[CONCURRENCY - 1], 'E cache')
    }
    const eRaw = async (): Promise<void> => {
      const values = await Promise.all(keys64.map((key) => rawHttp.get<string>(`${prefix}raw-${key}`)))
      check(JSON.parse(values[CONCURRENCY - 1]!), 'E raw')
    }

    const fCache = async (): Promise<void> => {
      const values = await l2Cache.mget(keys100)
      check(values.get('m-99'), 'F cache')
    }
    // a raw MGET user parses every value, as the cache does
    const fRaw = async (): Promise<void> => {
      const values = (await client.mGet(keys100.map((key) => `${prefix}raw-${key}`))).map((v) => (v === null ? undefined : (JSON.parse(v) as Value)))
      check(values[99], 'F raw')
    }
    const gCache = async (): Promise<void> => {
      const values = await Promise.all(keys64.map((key) => l2Cache.get(key)))
      check(values[CONCURRENCY - 1], 'G cache')
    }
    const gRaw = async (): Promise<void> => {
      const values = await Promise.all(keys64.map(async (key) => JSON.parse((await client.get(`${prefix}raw-${key}`))!) as Value))
      check(values[CONCURRENCY - 1], 'G raw')
    }
    let stampedeSeq = 0
    const slowLoader = async (): Promise<Value> => {
      await new Promise((resolve) => setTimeout(resolve, STAMPEDE_LOADER_MS))
      return VALUE
    }
    const hCache = async (): Promise<void> => {
      const key = `stampede-${stampedeSeq++}`
      const values = await Promise.all(Array.from({ length: STAMPEDE_CALLERS }, () => l2Cache.getOrLoad(key, slowLoader)))
      check(values[STAMPEDE_CALLERS - 1], 'H cache')
    }
    // the baseline: the least a hand-written single-flight over raw commands must do
    const inflight = new Map<string, Promise<Value>>()
    const rawSingleFlight = (key: string): Promise<Value> => {
      let pending = inflight.get(key)
      if (pending === undefined) {
        pending = (async () => {
          const hit = await client.get(key)
          if (hit !== null) return JSON.parse(hit) as Value
          const value = await slowLoader()
          await client.set(key, JSON.stringify(value), { expiration: { type: 'PX', value: 60_000 } })
          return value
        })().finally(() => inflight.delete(key))
        inflight.set(key, pending)
      }
      return pending
    }
    const hRaw = async (): Promise<void> => {
      const key = `${prefix}raw-stampede-${stampedeSeq++}`
      const values = await Promise.all(Array.from({ length: STAMPEDE_CALLERS }, () => rawSingleFlight(key)))
      check(values[STAMPEDE_CALLERS - 1], 'H raw')
    }

    // ---- warmup (JIT, connections, Redis allocator)
    await loopNs(L1_WARMUP, aCache)
    await loopNs(L1_WARMUP, aMap)
    await sampleUs(L2_WARMUP, bCache)
    await sampleUs(L2_WARMUP, bRaw)
    await sampleUs(L2_WARMUP, cCache)
    await sampleUs(L2_WARMUP, cRaw)
    await sampleUs(L2_WARMUP, dCache)
    await sampleUs(L2_WARMUP, dRaw)
    await sampleUs(HTTP_BATCHES, eCache)
    await sampleUs(HTTP_BATCHES, eRaw)
    await sampleUs(L2_WARMUP, fCache)
    await sampleUs(L2_WARMUP, fRaw)
    await sampleUs(CONCURRENT_BATCHES, gCache)
    await sampleUs(CONCURRENT_BATCHES, gRaw)
    await sampleUs(2, hCache)
    await sampleUs(2, hRaw)

    const rounds: { aCacheNs: number; aMapNs: number; bCache: OpStats; bRaw: OpStats; cCache: OpStats; cRaw: OpStats; dCache: OpStats; dRaw: OpStats; eCache: OpStats; eRaw: OpStats; fCache: OpStats; fRaw: OpStats; gCache: OpStats; gRaw: OpStats; hCache: OpStats; hRaw: OpStats }[] = []
    for (let r = 0; r < ROUNDS; r++) {
      const [aCacheNs, aMapNs] = await pair(r, () => loopNs(L1_OPS, aCache), () => loopNs(L1_OPS, aMap))
      const [bc, br] = await pair(r, () => sampleUs(L2_OPS, bCache), () => sampleUs(L2_OPS, bRaw))
      const [cc, cr] = await pair(r, () => sampleUs(MISS_OPS, cCache), () => sampleUs(MISS_OPS, cRaw))
      const [dc, dr] = await pair(r, () => sampleUs(HTTP_OPS, dCache), () => sampleUs(HTTP_OPS, dRaw))
      const [ec, er] = await pair(r, () => sampleUs(HTTP_BATCHES, eCache), () => sampleUs(HTTP_BATCHES, eRaw))
      const [fc, fr] = await pair(r, () => sampleUs(MGET_OPS, fCache), () => sampleUs(MGET_OPS, fRaw))
      const [gc, gr] = await pair(r, () => sampleUs(CONCURRENT_BATCHES, gCache), () => sampleUs(CONCURRENT_BATCHES, gRaw))
      const [hc, hr] = await pair(r, () => sampleUs(STAMPEDES, hCache), () => sampleUs(STAMPEDES, hRaw))
      rounds.push({ aCacheNs, aMapNs, bCache: bc, bRaw: br, cCache: cc, cRaw: cr, dCache: dc, dRaw: dr, eCache: ec, eRaw: er, fCache: fc, fRaw: fr, gCache: gc, gRaw: gr, hCache: hc, hRaw: hr })
      process.stderr.write(`round ${r + 1}/${ROUNDS} done\n`)
    }

    // Sanity: every C cache op really was a miss that loaded (no accidental hits).
    const stats = l2Cache.stats()

    // ---- summarise: median over rounds, ratio of medians
    const med = (f: (x: (typeof rounds)[number]) => number): number => median(rounds.map(f))
    const rows = [
      { workload: 'A  L1 hit (mean)', unit: 'ns', tiercache: med((x) => x.aCacheNs), baseline: med((x) => x.aMapNs), baselineName: 'await Map#get', target: A_TARGET },
      { workload: 'B  L2 hit (mean)', unit: 'µs', tiercache: med((x) => x.bCache.meanUs), baseline: med((x) => x.bRaw.meanUs), baselineName: 'client.get', target: undefined },
      { workload: 'B  L2 hit (p50)', unit: 'µs', tiercache: med((x) => x.bCache.p50Us), baseline: med((x) => x.bRaw.p50Us), baselineName: 'client.get', target: undefined },
      { workload: 'C  miss+load+set (mean)', unit: 'µs', tiercache: med((x) => x.cCache.meanUs), baseline: med((x) => x.cRaw.meanUs), baselineName: 'client.get + set PX', target: undefined },
      { workload: 'C  miss+load+set (p50)', unit: 'µs', tiercache: med((x) => x.cCache.p50Us), baseline: med((x) => x.cRaw.p50Us), baselineName: 'client.get + set PX', target: undefined },
      { workload: 'D  L2 hit over HTTP (p50)', unit: 'µs', tiercache: med((x) => x.dCache.p50Us), baseline: med((x) => x.dRaw.p50Us), baselineName: '@upstash/redis get via bridge', target: undefined },
      { workload: 'E  64 concurrent HTTP gets (batch mean)', unit: 'µs', tiercache: med((x) => x.eCache.meanUs), baseline: med((x) => x.eRaw.meanUs), baselineName: '@upstash/redis 64 gets via bridge', target: undefined },
      { workload: 'F  mget of 100 L2-only keys (p50)', unit: 'µs', tiercache: med((x) => x.fCache.p50Us), baseline: med((x) => x.fRaw.p50Us), baselineName: 'raw MGET', target: 1.3 },
      { workload: 'G  64 concurrent L2 gets (batch mean)', unit: 'µs', tiercache: med((x) => x.gCache.meanUs), baseline: med((x) => x.gRaw.meanUs), baselineName: '64 raw GETs', target: 1.0 },
      { workload: 'H  1000-caller stampede, 20 ms loader', unit: 'µs', tiercache: med((x) => x.hCache.meanUs), baseline: med((x) => x.hRaw.meanUs), baselineName: 'single-flight over raw GET+SET', target: 1.05 },
    ].map((row) => {
      const ratio = row.tiercache / row.baseline
      const verdict = row.target === undefined ? '-' : ratio <= row.target ? 'PASS' : 'FAIL'
      return { ...row, ratio, verdict }
    })

    const fmt = (v: number, unit: string): string => (unit === 'ns' ? `${v.toFixed(1)} ns` : `${v.toFixed(1)} µs`)
    const table = [
      ['workload', 'tiercache', 'baseline', 'ratio', 'target', 'result'],
      ...rows.map((r) => [r.workload, fmt(r.tiercache, r.unit), `${fmt(r.baseline, r.unit)}`, `${r.ratio.toFixed(2)}x`, r.target === undefined ? '-' : `≤ ${r.target.toFixed(1)}`, r.verdict]),
    ]
    const widths = table[0]!.map((_, c) => Math.max(...table.map((line) => line[c]!.length)))
    const render = (line: string[]): string => line.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')

    const machine = machineRecord(redisVersion, server === undefined ? 'REDIS_URL' : 'spawned redis-server', loadAtStart)
    console.log(`\ntiercache core benchmark: ${ROUNDS} rounds, median per round stat; A ${L1_OPS} ops/side/round, B ${L2_OPS}, C ${MISS_OPS}; value ${VALUE_JSON.length} B JSON`)
    console.log('baselines: A await Map#get | B node-redis client.get | C node-redis client.get + client.set PX 60000 | D, E raw @upstash/redis through the same bridge')
    const eRow = rows.find((row) => row.workload.startsWith('E'))!
    const gRow = rows.find((row) => row.workload.startsWith('G'))!
    const throughput = (batchUs: number): string => `${Math.round((CONCURRENCY * 1e6) / batchUs)} gets/s`
    console.log(render(table[0]!))
    console.log(widths.map((w) => '-'.repeat(w)).join('  '))
    for (const line of table.slice(1)) console.log(render(line))
    console.log(`machine: node ${machine.node} | ${machine.cpu} x${machine.cores} | redis ${machine.redis} (${machine.redisSource}) | load ${machine.loadavg.start[0]}→${machine.loadavg.end[0]} | ${machine.date}`)
    console.log(`G throughput: tiercache ${throughput(gRow.tiercache)} vs raw ${throughput(gRow.baseline)} (${(gRow.baseline / gRow.tiercache).toFixed(2)}x of raw; target ≥ 1.0x)`)
    console.log(`E throughput: tiercache ${throughput(eRow.tiercache)} vs raw ${throughput(eRow.baseline)} (${(eRow.baseline / eRow.tiercache).toFixed(2)}x of raw)`)
    console.log(`C check: loads=${stats.loads} (expected ${L2_WARMUP + ROUNDS * MISS_OPS}), l2Errors=${stats.l2Errors}; wall ${((Date.now() - wallStart) / 1000).toFixed(1)} s`)

    const outDir = join(dirname(fileURLToPath(import.meta.url)), 'results')
    mkdirSync(outDir, { recursive: true })
    writeFileSync(
      join(outDir, 'core-latest.json'),
      `${JSON.stringify({
        machine,
        config: { rounds: ROUNDS, l1Ops: L1_OPS, l1Warmup: L1_WARMUP, l2Ops: L2_OPS, missOps: MISS_OPS, l2Warmup: L2_WARMUP, valueBytes: VALUE_JSON.length },
        summary: rows.map(({ workload, unit, tiercache, baseline, baselineName, ratio, target, verdict }) => ({ workload, unit, tiercache, baseline, baselineName, ratio, target: target ?? null, result: verdict })),
        rounds,
        cacheStats: { l2: stats },
      }, null, 2)}\n`,
    )
  } finally {
    // Only this run's namespaces are removed (SCAN + UNLINK), never FLUSHDB.
    await l2Cache.clear().catch((error: unknown) => console.error('clear failed:', error))
    await l1Cache.clear().catch(() => undefined)
    await l1Cache.close()
    await l2Cache.close()
    await httpCache.clear().catch(() => undefined)
    await httpCache.close()
    await bridge.stop()
    if (client.isOpen) await client.close()
    await server?.stop()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
