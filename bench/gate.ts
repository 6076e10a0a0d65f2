/**
 * Regression gate over tiercache's ratios to the raw baselines (bench/compare.ts).
 *
 *   npm run bench:baseline                       runs the comparison twice, saves the ratios to bench/baseline.json
 *   npm run bench:check -- --threshold 0.15      runs it again; exits 1 when a ratio got worse by more
 *                                                than the threshold (0.15 = 15 %), 0 otherwise
 *
 * Only tiercache and the raw baselines run (`--subjects tiercache`): the gate is about
 * tiercache's overhead over raw Redis and a raw Map, which those ratios measure in one process;
 * peers would only lengthen the run. Every metric is a ratio measured within one run, so the
 * gate tolerates a slower or faster machine; it does not tolerate tiercache getting slower
 * relative to raw.
 *
 * Noise: each ratio is already the median of per-round ratios over 9 rounds. On top of that:
 * - the baseline is the worse of two runs per metric (`--runs`), so a baseline caught on a
 *   lucky run does not fail every later one;
 * - a ratio fails only if it is worse than the baseline by more than the threshold in a first
 *   run AND in a confirming re-run (the better of the two counts), so a one-off hiccup of a
 *   shared 2-core machine costs one extra run, not a red build.
 *
 * Options: --threshold T (0.15), --baseline FILE (bench/baseline.json), --rounds N (9),
 * --runs N (baseline runs, 2), --no-confirm (fail on the first run).
 * Exit codes: 0 ok, 1 regression, 2 could not run.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gateMetrics, plainTable, regression, type CompareResults } from './report.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')

interface Metric { ratio: number; direction: 'lower' | 'higher' }

interface Baseline {
  kind: 'tiercache-bench-baseline'
  schema: 1
  created: string
  machine: CompareResults['machine']
  versions: CompareResults['versions']
  rounds: number
  /** Each baseline run's ratios; `metrics` keeps the worse of them per metric. */
  runs: Record<string, number>[]
  /** What each metric is: tiercache ÷ raw, in the workload's statistic. */
  describe: Record<string, string>
  metrics: Record<string, Metric>
}

interface Args { mode: 'baseline' | 'check'; threshold: number; baseline: string; rounds: number; runs: number; confirm: boolean }

function parseArgs(argv: readonly string[]): Args {
  const mode = argv[0]
  if (mode !== 'baseline' && mode !== 'check') throw new Error('usage: gate.ts baseline|check [--threshold 0.15] [--baseline FILE] [--rounds N] [--no-confirm]')
  const args: Args = { mode, threshold: 0.15, baseline: join(here, 'baseline.json'), rounds: 9, runs: 2, confirm: true }
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!
    const value = (): string => {
      const next = argv[++i]
      if (next === undefined) throw new Error(`${arg} needs a value`)
      return next
    }
    if (arg === '--threshold') args.threshold = Number(value())
    else if (arg === '--baseline') args.baseline = resolve(value())
    else if (arg === '--rounds') args.rounds = Number(value())
    else if (arg === '--runs') args.runs = Number(value())
    else if (arg === '--no-confirm') args.confirm = false
    else throw new Error(`unknown option ${arg}`)
  }
  if (!Number.isFinite(args.threshold) || args.threshold <= 0 || args.threshold >= 10) throw new Error('--threshold must be a number above 0, e.g. 0.15 for 15 %')
  if (!Number.isInteger(args.rounds) || args.rounds < 3) throw new Error('--rounds must be an integer of at least 3')
  if (!Number.isInteger(args.runs) || args.runs < 1 || args.runs > 5) throw new Error('--runs must be an integer from 1 to 5')
  return args
}

/** Runs bench/compare.ts in a process of its own (its output goes to the terminal) and reads its results file. */
function runCompare(rounds: number, tag: string): Promise<CompareResults> {
  const out = join(here, 'results', `gate-${tag}.json`)
  mkdirSync(dirname(out), { recursive: true })
  return new Promise((resolveRun, reject) => {
    const child = execFile(process.execPath, ['--import', 'tsx', join(here, 'compare.ts'), '--subjects', 'tiercache', '--rounds', String(rounds), '--out', out], {
      cwd: root,
      timeout: 20 * 60_000,
      maxBuffer: 16 << 20,
    }, (error) => {
      if (error !== null) reject(new Error(`bench/compare.ts failed: ${error.message}`))
      else resolveRun(JSON.parse(readFileSync(out, 'utf8')) as CompareResults)
    })
    child.stdout?.pipe(process.stdout)
    child.stderr?.pipe(process.stderr)
  })
}

function describe(results: CompareResults): Record<string, string> {
  return Object.fromEntries(results.workloads.map((w) => [w.id, `${w.title}: tiercache ÷ raw (${w.baseline}), ${w.statistic}; ${w.direction} is better`]))
}

async function saveBaseline(args: Args): Promise<void> {
  const all: CompareResults[] = []
  for (let i = 0; i < args.runs; i++) all.push(await runCompare(args.rounds, `baseline-${i + 1}`))
  const results = all[all.length - 1]!
  const runs = all.map(gateMetrics)
  // per metric, the worse of the runs: the gate then fails only on what is worse than that
  const worst: Record<string, Metric> = {}
  for (const run of runs) {
    for (const [id, m] of Object.entries(run)) {
      const seen = worst[id]
      if (seen === undefined || (m.direction === 'lower' ? m.ratio > seen.ratio : m.ratio < seen.ratio)) worst[id] = m
    }
  }
  const baseline: Baseline = {
    kind: 'tiercache-bench-baseline',
    schema: 1,
    created: results.machine.date,
    machine: results.machine,
    versions: results.versions,
    rounds: args.rounds,
    runs: runs.map((run) => Object.fromEntries(Object.entries(run).map(([id, m]) => [id, Number(m.ratio.toFixed(4))]))),
    describe: describe(results),
    metrics: Object.fromEntries(Object.entries(worst).map(([id, m]) => [id, { ratio: Number(m.ratio.toFixed(4)), direction: m.direction }])),
  }
  writeFileSync(args.baseline, `${JSON.stringify(baseline, null, 2)}\n`)
  console.log(`\nbaseline saved to ${args.baseline} (per metric the worse of ${runs.length} run${runs.length === 1 ? '' : 's'}):`)
  console.log(Object.entries(baseline.metrics).map(([id, m]) => `  ${id.padEnd(5)} ${m.ratio.toFixed(3)} (${m.direction} is better; runs: ${baseline.runs.map((r) => r[id]?.toFixed(3) ?? '—').join(', ')})`).join('\n'))
}

async function check(args: Args): Promise<number> {
  if (!existsSync(args.baseline)) {
    console.error(`no baseline at ${args.baseline}: run \`npm run bench:baseline\` first`)
    return 2
  }
  const baseline = JSON.parse(readFileSync(args.baseline, 'utf8')) as Baseline
  if (baseline.kind !== 'tiercache-bench-baseline') throw new Error(`${args.baseline} is not a baseline file`)
  const runs: Record<string, Metric>[] = [gateMetrics(await runCompare(args.rounds, 'check-1'))]
  const worse = (run: Record<string, Metric>): string[] =>
    Object.entries(baseline.metrics).filter(([id, base]) => {
      const current = run[id]
      return current === undefined || regression(base.ratio, current.ratio, base.direction) > args.threshold
    }).map(([id]) => id)
  const suspects = worse(runs[0]!)
  if (suspects.length > 0 && args.confirm) {
    console.log(`\nworse than the baseline by more than ${(args.threshold * 100).toFixed(0)} % in the first run: ${suspects.join(', ')}; running again to confirm`)
    runs.push(gateMetrics(await runCompare(args.rounds, 'check-2')))
  }
  // The better of the runs counts: a regression must show in every run to fail the gate.
  const best: Record<string, Metric> = {}
  for (const [id, base] of Object.entries(baseline.metrics)) {
    const seen = runs.map((run) => run[id]).filter((m): m is Metric => m !== undefined)
    if (seen.length === 0) continue
    best[id] = seen.reduce((a, b) => ((base.direction === 'lower' ? b.ratio < a.ratio : b.ratio > a.ratio) ? b : a))
  }
  const failed = worse(best)
  const rows = [['metric', 'baseline', ...runs.map((_, i) => `run ${i + 1}`), 'change', 'result']]
  for (const [id, base] of Object.entries(baseline.metrics)) {
    const current = best[id]
    const change = current === undefined ? undefined : regression(base.ratio, current.ratio, base.direction)
    rows.push([
      `${id} (${base.direction} is better)`,
      base.ratio.toFixed(3),
      ...runs.map((run) => run[id]?.ratio.toFixed(3) ?? 'missing'),
      change === undefined ? '—' : `${change > 0 ? '+' : ''}${(change * 100).toFixed(1)} % ${change > 0 ? 'worse' : 'better'}`,
      failed.includes(id) ? 'FAIL' : 'ok',
    ])
  }
  for (const id of Object.keys(runs[0]!)) {
    if (!(id in baseline.metrics)) rows.push([id, '—', ...runs.map((run) => run[id]?.ratio.toFixed(3) ?? '—'), 'no baseline', 'new'])
  }
  console.log(`\nregression gate: threshold ${(args.threshold * 100).toFixed(0)} %, baseline of ${baseline.created.slice(0, 10)} (${args.baseline})`)
  console.log(plainTable(rows))
  if (failed.length > 0) {
    console.log(`\nFAIL: ${failed.join(', ')} got worse than the baseline by more than ${(args.threshold * 100).toFixed(0)} %${runs.length > 1 ? ' in both runs' : ''}`)
    return 1
  }
  console.log('\nOK: no ratio got worse than the baseline by more than the threshold')
  return 0
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  if (args.mode === 'baseline') await saveBaseline(args)
  else process.exitCode = await check(args)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 2
})
