/**
 * tiercache against BentoCache, cache-manager and raw baselines, on the same workloads in one
 * process, interleaved (`npm run bench:compare`):
 *
 *   (A)   L1 hit                      multi-tier setups         vs  await Map#get
 *   (B)   L2-only hit, sequential     L2-only setups            vs  node-redis GET + JSON.parse
 *   (B64) L2-only hits, 64 concurrent (distinct keys), throughput, same baseline ×64
 *   (C)   1000-caller stampede on one cold key, 20 ms loader    vs  a Map of promises over GET + SET
 *   (D)   batch of 100 L2-only keys   mget (or what exists)     vs  one MGET + JSON.parse each
 *   (E)   miss + load + set           getOrLoad of a new key    vs  GET, then SET … PX
 *   heap per entry of 100k ~200-byte entries in each in-process tier vs a plain Map of the same objects
 *   Redis commands per operation, from INFO commandstats deltas.
 *
 * Each round runs every workload once for every subject, back to back, rotating which subject
 * goes first; the per-call latencies (B sequential, D, E) alternate subjects call by call
 * instead, so the machine's drift within a round reaches every subject alike. A subject's figure is the median over rounds of its per-round statistic; its
 * ratio is the median over rounds of (subject / raw) with both measured in the same round, so
 * drift of the machine between rounds cancels out. Nothing here asserts on timings: targets are
 * reported PASS/FAIL, and the regression gate (bench/gate.ts) decides on exit codes.
 *
 * Options: --rounds N (9), --subjects raw,tiercache,bentocache,cache-manager (all; raw always
 * runs), --out FILE (bench/results/compare-latest.json), --no-heap, --quick (smoke run),
 * --chart (then update docs/benchmarks.md and docs/benchmarks.svg with bench/chart.ts).
 * Uses REDIS_URL if set (only keys of this run are written and removed), else spawns a private
 * redis-server.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { platform, release } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createClient } from 'redis'
import { FACTORIES, KEYS_100, KEYS_64, PEERS, keyPatterns, type Subject } from './peers.js'
import { benchRedis, loadNow, machineRecord, redisVersionOf, check, median, nowNs as now, VALUE, type Value } from './common.js'
import { commandRows, gateMetrics, machineLine, meetsTarget, plainTable, tableRows, type CommandCount, type CompareResults, type SubjectName, type WorkloadId, type WorkloadResult } from './report.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')

// ---------------------------------------------------------------- options

interface Options {
  rounds: number
  subjects: SubjectName[]
  out: string
  heap: boolean
  quick: boolean
  chart: boolean
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { rounds: 9, subjects: ['raw', 'tiercache', ...PEERS], out: join(here, 'results', 'compare-latest.json'), heap: true, quick: false, chart: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = (): string => {
      const next = argv[++i]
      if (next === undefined) throw new Error(`${arg} needs a value`)
      return next
    }
    if (arg === '--rounds') options.rounds = Number(value())
    else if (arg === '--subjects') {
      const names = value().split(',').map((s) => s.trim()).filter((s) => s !== '')
      for (const name of names) if (!(name in FACTORIES)) throw new Error(`--subjects: unknown subject '${name}' (raw, tiercache, bentocache, cache-manager)`)
      options.subjects = ['raw', ...(names as SubjectName[]).filter((s) => s !== 'raw')]
    } else if (arg === '--out') options.out = resolve(value())
    else if (arg === '--no-heap') options.heap = false
    else if (arg === '--quick') options.quick = true
    else if (arg === '--chart') options.chart = true
    else throw new Error(`unknown option ${arg} (--rounds N, --subjects a,b, --out FILE, --no-heap, --quick, --chart)`)
  }
  if (options.quick && !argv.includes('--rounds')) options.rounds = 2
  if (!Number.isInteger(options.rounds) || options.rounds < 1 || options.rounds > 50) throw new Error('--rounds must be an integer from 1 to 50')
  return options
}

const options = parseArgs(process.argv.slice(2))
const Q = options.quick

// Per subject, per round. Chosen so a full run of 9 rounds with four subjects takes about two
// minutes on a 2-core VM; A's op count is calibrated per subject to ~A_SAMPLE_MS per sample.
const A_SAMPLE_MS = Q ? 20 : 100
const B_OPS = Q ? 200 : 1_000
const B64_BATCHES = Q ? 15 : 150
const CONCURRENCY = 64
const STAMPEDES = Q ? 2 : 5
const STAMPEDE_CALLERS = 1_000
const STAMPEDE_LOADER_MS = 20
const D_OPS = Q ? 50 : 200
const E_OPS = Q ? 150 : 1_000
const HEAP_ENTRIES = 100_000
const HEAP_ROUNDS = Q ? 1 : 3
/** A run that takes longer than this has hung somewhere: stop it rather than wait forever. */
const WATCHDOG_MS = 15 * 60_000

// ---------------------------------------------------------------- measuring


type Loop = (n: number, op: () => unknown) => Promise<number>

/**
 * A loop of its own for each subject (compiled from source, so it gets its own type feedback):
 * one loop shared by every subject would see several callees at `op()`, stop inlining them, and
 * add the same dispatch cost to every side — which makes a slow cache look closer to the Map.
 * Returns ns per awaited call.
 */
function makeLoop(): Loop {
  return new Function(
    'now',
    `return async function loop(n, op) {
      let sink = 0
      const start = now()
      for (let i = 0; i < n; i++) {
        const v = await op()
        if (v !== undefined) sink += v.id & 1
      }
      const elapsed = Number(now() - start)
      if (sink === -1) console.log(sink)
      return elapsed / n
    }`,
  )(now) as Loop
}

interface Latency { meanUs: number; p50Us: number }

/** Runs `op` n times sequentially, timing each call. */
async function sample(n: number, op: () => Promise<unknown>): Promise<Latency> {
  const samples = new Float64Array(n)
  const start = now()
  for (let i = 0; i < n; i++) {
    const t0 = now()
    await op()
    samples[i] = Number(now() - t0) / 1000
  }
  const meanUs = Number(now() - start) / 1000 / n
  samples.sort()
  return { meanUs, p50Us: samples[n >> 1]! }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

// ---------------------------------------------------------------- workloads

interface Runner {
  subject: Subject
  loop: Loop
  aOps: number
  stampedeLoads: number
  stampedes: number
}

let seq = 0 // unique keys for C and E, across subjects and rounds

function aOp(s: Subject): () => unknown {
  return () => s.l1Get('hit')
}

const bOp = async (s: Subject): Promise<void> => void check(await s.l2Get('hit'), `B ${s.name}`)

async function runB(s: Subject, n: number): Promise<Latency> {
  return sample(n, () => bOp(s))
}

/**
 * Times `op` for every subject in turn, n times over (one call of each, then again): for the
 * per-call latencies (B, D, E), whose ratios a drift of the machine between one subject's
 * block of calls and the next would otherwise move by more than the engine's own cost.
 */
async function sampleInterleaved(subjects: readonly Subject[], n: number, op: (s: Subject) => Promise<unknown>): Promise<Latency[]> {
  const samples = subjects.map(() => new Float64Array(n))
  const totals = subjects.map(() => 0)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < subjects.length; j++) {
      const t0 = now()
      await op(subjects[j]!)
      const us = Number(now() - t0) / 1000
      samples[j]![i] = us
      totals[j]! += us
    }
  }
  return samples.map((list, j) => {
    list.sort()
    return { meanUs: totals[j]! / n, p50Us: list[n >> 1]! }
  })
}

/** Returns gets per second over `batches` batches of 64 concurrent gets. */
async function runB64(s: Subject, batches: number): Promise<number> {
  const start = now()
  for (let b = 0; b < batches; b++) {
    const values = await Promise.all(KEYS_64.map((key) => s.l2Get(key)))
    check(values[CONCURRENCY - 1], `B64 ${s.name}`)
    check(values[0], `B64 ${s.name}`)
  }
  return (batches * CONCURRENCY * 1e9) / Number(now() - start)
}

/** Returns the mean time in ms from the first caller to the last answer, per stampede. */
async function runC(r: Runner, stampedes: number): Promise<number> {
  const s = r.subject
  const loader = async (): Promise<Value> => {
    r.stampedeLoads++
    await sleep(STAMPEDE_LOADER_MS)
    return VALUE
  }
  let total = 0
  for (let i = 0; i < stampedes; i++) {
    const key = `stampede-${seq++}`
    const t0 = now()
    const values = await Promise.all(Array.from({ length: STAMPEDE_CALLERS }, () => s.getOrLoad(key, loader)))
    total += Number(now() - t0) / 1e6
    check(values[0], `C ${s.name}`)
    check(values[STAMPEDE_CALLERS - 1], `C ${s.name}`)
    r.stampedes++
  }
  return total / stampedes
}

const dOp = async (s: Subject): Promise<void> => {
  const values = await s.l2Batch(KEYS_100)
  check(values[0], `D ${s.name}`)
  check(values[99], `D ${s.name}`)
}

async function runD(s: Subject, n: number): Promise<Latency> {
  return sample(n, () => dOp(s))
}

const fastLoader = (): Value => VALUE

const eOp = async (s: Subject): Promise<void> => void check(await s.missLoadSet(`miss-${seq++}`, fastLoader), `E ${s.name}`)

async function runE(s: Subject, n: number): Promise<Latency> {
  return sample(n, () => eOp(s))
}

// ---------------------------------------------------------------- Redis commands per operation

/** The one call the command counting needs. */
interface RedisClient { info(section: string): Promise<unknown> }

async function commandStats(client: RedisClient): Promise<Map<string, number>> {
  const text = String(await client.info('commandstats'))
  const counts = new Map<string, number>()
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts.set(match[1]!, Number(match[2]))
  return counts
}

/** Runs `work` and returns the Redis commands it caused, by name (INFO itself left out). */
async function countCommands(client: RedisClient, work: () => Promise<unknown>): Promise<Map<string, number>> {
  await sleep(50) // let trailing background writes of the previous step land first
  const before = await commandStats(client)
  await work()
  await sleep(50)
  const after = await commandStats(client)
  const delta = new Map<string, number>()
  for (const [name, calls] of after) {
    if (name === 'info') continue
    const d = calls - (before.get(name) ?? 0)
    if (d > 0) delta.set(name, d)
  }
  return delta
}

function perOp(delta: Map<string, number>, ops: number, per: string): CommandCount {
  const breakdown: Record<string, number> = {}
  let total = 0
  for (const [name, calls] of delta) {
    breakdown[name] = calls / ops
    total += calls
  }
  return { perOp: total / ops, per, breakdown }
}

// ---------------------------------------------------------------- heap

const execFileAsync = promisify(execFile)

interface HeapSample { subject: string; bytesPerEntry: number; jsonBytesPerEntry: number }

async function heapSample(subject: string): Promise<HeapSample> {
  const { stdout } = await execFileAsync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, 'heap.ts'), subject, String(HEAP_ENTRIES)], {
    cwd: root,
    timeout: 180_000,
    maxBuffer: 1 << 20,
  })
  const line = stdout.trim().split('\n').pop() ?? ''
  return JSON.parse(line) as HeapSample
}

// ---------------------------------------------------------------- main

function versionOf(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'not installed'
  }
}

async function gitCommit(): Promise<string> {
  try {
    const { stdout } = await execFileAsync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root })
    const { stdout: status } = await execFileAsync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root })
    return `${stdout.trim()}${status.trim() === '' ? '' : '+changes'}`
  } catch {
    return 'unknown'
  }
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    console.error(`compare: the run took longer than ${WATCHDOG_MS / 60_000} min; stopping it`)
    process.exit(2)
  }, WATCHDOG_MS)
  watchdog.unref()
  const wallStart = Date.now()
  const loadAtStart = loadNow()
  const { url, server } = await benchRedis()
  const runId = `bcmp${process.pid}${Date.now().toString(36)}`
  const stats = createClient({ url })
  stats.on('error', (error: unknown) => console.error('stats client error:', error))
  const subjects: Subject[] = []
  try {
    await stats.connect()
    const redisVersion = redisVersionOf(await stats.info('server'))

    for (const name of options.subjects) {
      const subject = await FACTORIES[name]({ url, runId })
      subjects.push(subject)
      await subject.prepare()
      // the fixtures are there and read back as they should
      check(await subject.l1Get('hit'), `A ${name}`)
      check(await subject.l2Get('hit'), `B ${name}`)
    }
    const runners: Runner[] = subjects.map((subject) => ({ subject, loop: makeLoop(), aOps: 0, stampedeLoads: 0, stampedes: 0 }))

    // ---- warm-up (JIT, connections, Redis allocator); calibrates A's op count per subject
    for (const r of runners) {
      const s = r.subject
      const op = aOp(s)
      await r.loop(20_000, op)
      const ns = await r.loop(20_000, op)
      r.aOps = Math.max(2_000, Math.min(1_000_000, Math.round((A_SAMPLE_MS * 1e6) / ns)))
      await runB(s, 1000)
      await runB64(s, 10)
      await runC(r, 1)
      await runD(s, 500)
      await runE(s, 1000)
    }
    for (const r of runners) {
      r.stampedeLoads = 0
      r.stampedes = 0
    }

    // ---- timed rounds
    type Stat = 'A' | 'B' | 'Bmean' | 'B64' | 'C' | 'D' | 'E' | 'Emean'
    const perRound = new Map<SubjectName, Record<Stat, number[]>>()
    for (const r of runners) perRound.set(r.subject.name, { A: [], B: [], Bmean: [], B64: [], C: [], D: [], E: [], Emean: [] })
    const record = (name: SubjectName, stat: Stat, value: number): void => void perRound.get(name)![stat].push(value)
    const rotated = (round: number): Runner[] => runners.map((_, i) => runners[(i + round) % runners.length]!)

    for (let round = 0; round < options.rounds; round++) {
      const order = rotated(round)
      for (const r of order) record(r.subject.name, 'A', await r.loop(r.aOps, aOp(r.subject)))
      const b = await sampleInterleaved(order.map((r) => r.subject), B_OPS, bOp)
      order.forEach((r, i) => {
        record(r.subject.name, 'B', b[i]!.p50Us)
        record(r.subject.name, 'Bmean', b[i]!.meanUs)
      })
      for (const r of order) record(r.subject.name, 'B64', await runB64(r.subject, B64_BATCHES))
      for (const r of order) record(r.subject.name, 'C', await runC(r, STAMPEDES))
      const d = await sampleInterleaved(order.map((r) => r.subject), D_OPS, dOp)
      order.forEach((r, i) => record(r.subject.name, 'D', d[i]!.p50Us))
      const e = await sampleInterleaved(order.map((r) => r.subject), E_OPS, eOp)
      order.forEach((r, i) => {
        record(r.subject.name, 'E', e[i]!.p50Us)
        record(r.subject.name, 'Emean', e[i]!.meanUs)
      })
      process.stderr.write(`round ${round + 1}/${options.rounds} done (${((Date.now() - wallStart) / 1000).toFixed(0)} s)\n`)
    }

    // ---- Redis commands per operation (a separate pass: INFO must not sit inside timed loops)
    const commands: CompareResults['commands'] = {}
    for (const r of runners) {
      const s = r.subject
      const c: Partial<Record<WorkloadId, CommandCount>> = {}
      c.A = perOp(await countCommands(stats, () => r.loop(1_000, aOp(s))), 1_000, 'get')
      c.B = perOp(await countCommands(stats, () => runB(s, 200)), 200, 'get')
      c.B64 = perOp(await countCommands(stats, () => runB64(s, 20)), 20, 'batch of 64 gets')
      c.C = perOp(await countCommands(stats, () => runC(r, 3)), 3, 'stampede (1000 callers)')
      c.D = perOp(await countCommands(stats, () => runD(s, 50)), 50, 'batch of 100')
      c.E = perOp(await countCommands(stats, () => runE(s, 200)), 200, 'miss')
      commands[s.name] = c
    }

    // ---- heap per entry, one process per subject and sample, rotating the order
    const heapNames: string[] = options.heap ? ['map', ...options.subjects.filter((s) => s !== 'raw')] : []
    const heapSamples = new Map<string, number[]>(heapNames.map((name) => [name, []]))
    let jsonBytesPerEntry = 0
    for (let round = 0; round < (options.heap ? HEAP_ROUNDS : 0); round++) {
      for (let i = 0; i < heapNames.length; i++) {
        const name = heapNames[(i + round) % heapNames.length]!
        const h = await heapSample(name)
        heapSamples.get(name)!.push(h.bytesPerEntry)
        jsonBytesPerEntry = h.jsonBytesPerEntry
      }
      process.stderr.write(`heap round ${round + 1}/${HEAP_ROUNDS} done\n`)
    }

    // ---- summary
    const names = options.subjects
    const series = (name: SubjectName, stat: Stat): number[] => perRound.get(name)![stat]
    const workload = (w: Omit<WorkloadResult, 'values' | 'ratios' | 'perRound' | 'verdict'>, stat: Stat): WorkloadResult => {
      const values: WorkloadResult['values'] = {}
      const ratios: WorkloadResult['ratios'] = {}
      const rounds: WorkloadResult['perRound'] = {}
      const raw = series('raw', stat)
      for (const name of names) {
        const xs = series(name, stat)
        rounds[name] = xs.map((x) => Number(x.toFixed(3)))
        values[name] = median(xs)
        if (name !== 'raw') ratios[name] = median(xs.map((x, i) => x / raw[i]!))
      }
      const tc = ratios.tiercache
      const verdict = w.target === null || tc === undefined ? '-' : meetsTarget(tc, w) ? 'PASS' : 'FAIL'
      return { ...w, values, ratios, perRound: rounds, verdict }
    }
    const workloads: WorkloadResult[] = [
      workload({ id: 'A', title: 'L1 hit', statistic: 'mean per get', unit: 'ns', direction: 'lower', baseline: '`await map.get(k)`', target: 2 }, 'A'),
      workload({ id: 'B', title: 'L2-only hit, sequential', statistic: 'p50 per get', unit: 'µs', direction: 'lower', baseline: 'node-redis `GET` + `JSON.parse`', target: 1.05 }, 'B'),
      workload({ id: 'B64', title: 'L2-only hits, 64 concurrent', statistic: 'throughput', unit: 'gets/s', direction: 'higher', baseline: '64 node-redis `GET`s + `JSON.parse`', target: 1.0 }, 'B64'),
      workload({ id: 'C', title: '1000-caller stampede, one cold key, 20 ms loader', statistic: 'mean time to last answer', unit: 'ms', direction: 'lower', baseline: 'a Map of promises over `GET`, loader, `SET PX`', target: 1.05 }, 'C'),
      workload({ id: 'D', title: 'batch of 100 L2-only keys', statistic: 'p50 per batch', unit: 'µs', direction: 'lower', baseline: 'one `MGET` + `JSON.parse` of each', target: 1.3 }, 'D'),
      workload({ id: 'E', title: 'miss + load + set', statistic: 'p50 per miss', unit: 'µs', direction: 'lower', baseline: '`GET`, loader, `SET PX`', target: 1.1 }, 'E'),
    ]
    const bMean = workload({ id: 'B', title: '', statistic: '', unit: 'µs', direction: 'lower', baseline: '', target: null }, 'Bmean')
    const eMean = workload({ id: 'E', title: '', statistic: '', unit: 'µs', direction: 'lower', baseline: '', target: null }, 'Emean')
    if (options.heap) {
      const values: WorkloadResult['values'] = {}
      const ratios: WorkloadResult['ratios'] = {}
      const rounds: WorkloadResult['perRound'] = {}
      const mapMedian = median(heapSamples.get('map')!)
      for (const name of names) {
        const xs = heapSamples.get(name === 'raw' ? 'map' : name)!
        rounds[name] = xs.map((x) => Number(x.toFixed(1)))
        values[name] = median(xs)
        if (name !== 'raw') ratios[name] = median(xs) / mapMedian
      }
      const w = { id: 'heap', title: `heap per entry, ${HEAP_ENTRIES.toLocaleString('en-US')} entries of ~${Math.round(jsonBytesPerEntry)} B JSON`, statistic: 'bytes per entry', unit: 'B/entry', direction: 'lower', baseline: 'a plain `Map` of the same objects', target: 1.3 } as const
      const tc = ratios.tiercache
      workloads.push({ ...w, values, ratios, perRound: rounds, verdict: tc === undefined ? '-' : meetsTarget(tc, w) ? 'PASS' : 'FAIL' })
    }

    const results: CompareResults = {
      kind: 'tiercache-compare',
      schema: 1,
      machine: {
        ...machineRecord(redisVersion, server === undefined ? 'REDIS_URL' : 'private redis-server on loopback', loadAtStart),
        os: `${platform()} ${release()}`,
      },
      versions: {
        tiercache: `${(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version} (${await gitCommit()})`,
        node: process.version,
        redis: versionOf('redis'),
        bentocache: versionOf('bentocache'),
        ioredis: versionOf('ioredis'),
        'cache-manager': versionOf('cache-manager'),
        keyv: versionOf('keyv'),
        '@keyv/redis': versionOf('@keyv/redis'),
        cacheable: versionOf('cacheable'),
      },
      config: {
        rounds: options.rounds,
        quick: options.quick,
        aSampleMs: A_SAMPLE_MS,
        bOps: B_OPS,
        b64Batches: B64_BATCHES,
        stampedes: STAMPEDES,
        stampedeCallers: STAMPEDE_CALLERS,
        stampedeLoaderMs: STAMPEDE_LOADER_MS,
        dOps: D_OPS,
        eOps: E_OPS,
        heapEntries: HEAP_ENTRIES,
        heapRounds: options.heap ? HEAP_ROUNDS : 0,
        valueBytes: JSON.stringify(VALUE).length,
        ...Object.fromEntries(runners.map((r) => [`aOps.${r.subject.name}`, r.aOps])),
      },
      subjects: subjects.map((s) => ({ name: s.name, setup: s.setup })),
      workloads,
      commands,
      checks: {
        ...Object.fromEntries(runners.map((r) => [`loaderCallsPerStampede.${r.subject.name}`, r.stampedes === 0 ? 0 : Number((r.stampedeLoads / r.stampedes).toFixed(3))])),
        ...Object.fromEntries(names.filter((n) => n !== 'raw').flatMap((n) => [
          [`B.meanRatio.${n}`, Number((bMean.ratios[n] ?? NaN).toFixed(3))],
          [`E.meanRatio.${n}`, Number((eMean.ratios[n] ?? NaN).toFixed(3))],
        ])),
      },
      wallSeconds: Math.round((Date.now() - wallStart) / 1000),
    }

    console.log(`\ntiercache vs peers: ${options.rounds} rounds, medians over rounds; ratios = median of per-round (subject / raw)${options.quick ? ' [QUICK RUN: not for publishing]' : ''}`)
    console.log(plainTable(tableRows(results, names)))
    console.log('\nRedis commands per operation (INFO commandstats deltas)')
    console.log(plainTable(commandRows(results, names)))
    console.log(`\nloader calls per stampede: ${runners.map((r) => `${r.subject.name} ${results.checks[`loaderCallsPerStampede.${r.subject.name}`]}`).join(', ')}`)
    console.log(`mean-based ratios: ${names.filter((n) => n !== 'raw').map((n) => `${n} B ${results.checks[`B.meanRatio.${n}`]} E ${results.checks[`E.meanRatio.${n}`]}`).join(' | ')}`)
    console.log(`machine: ${machineLine(results)}`)
    console.log(`versions: ${Object.entries(results.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`)
    const metrics = gateMetrics(results)
    console.log(`tiercache ratios: ${Object.entries(metrics).map(([k, m]) => `${k} ${m.ratio.toFixed(3)}`).join(', ')}; wall ${results.wallSeconds} s`)

    mkdirSync(dirname(options.out), { recursive: true })
    writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`)
    console.log(`results: ${options.out}`)
    if (options.chart) {
      if (options.quick) console.log('--quick run: docs/benchmarks.* left as they are')
      else {
        const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', join(here, 'chart.ts'), options.out], { cwd: root })
        process.stdout.write(stdout)
      }
    }
  } finally {
    for (const s of subjects) await s.close().catch((error: unknown) => console.error(`close ${s.name}:`, error))
    // Only this run's keys are removed (SCAN + UNLINK on the run id), never FLUSHDB.
    if (stats.isOpen) {
      for (const pattern of keyPatterns(runId)) {
        for await (const keys of stats.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
          if (keys.length > 0) await stats.unlink(keys)
        }
      }
      await stats.close()
    }
    await server?.stop()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
