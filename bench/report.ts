/**
 * The results file of `bench/compare.ts` (bench/results/compare-latest.json) and the tables
 * made from it: the console table, the Markdown table of docs/benchmarks.md (bench/chart.ts)
 * and the metrics the regression gate compares (bench/gate.ts).
 */

export type SubjectName = 'raw' | 'tiercache' | 'bentocache' | 'cache-manager'
export type WorkloadId = 'A' | 'B' | 'B64' | 'C' | 'D' | 'E' | 'heap'

export const SUBJECT_LABELS: Record<SubjectName, string> = {
  raw: 'raw baseline',
  tiercache: 'tiercache',
  bentocache: 'BentoCache',
  'cache-manager': 'cache-manager',
}

export interface WorkloadResult {
  id: WorkloadId
  title: string
  /** What is measured per round, e.g. 'p50 per get'. */
  statistic: string
  unit: 'ns' | 'µs' | 'ms' | 'gets/s' | 'B/entry'
  /** Whether a lower or a higher value (and so ratio) is better. */
  direction: 'lower' | 'higher'
  /** What the raw baseline of this workload is. */
  baseline: string
  /** tiercache's target, as a ratio to the raw baseline (≤ for 'lower', ≥ for 'higher'). */
  target: number | null
  /** Median over rounds of each subject's per-round statistic. */
  values: Partial<Record<SubjectName, number>>
  /** Median over rounds of subject / raw, each round's pair measured back to back. */
  ratios: Partial<Record<SubjectName, number>>
  /** The per-round statistic, for anyone who wants to look at the spread. */
  perRound: Partial<Record<SubjectName, number[]>>
  /** tiercache against its target. */
  verdict: 'PASS' | 'FAIL' | '-'
  notes?: Partial<Record<SubjectName, string>>
}

export interface CommandCount {
  /** Redis commands per operation (INFO commandstats delta / operations). */
  perOp: number
  /** What one operation is, e.g. 'get' or 'stampede (1000 callers)'. */
  per: string
  /** Commands by name, per operation. */
  breakdown: Record<string, number>
}

export interface CompareResults {
  kind: 'tiercache-compare'
  schema: 1
  machine: {
    node: string
    cpu: string
    cores: number
    os: string
    redis: string
    redisSource: string
    loadavg: { start: number[]; end: number[] }
    date: string
  }
  versions: Record<string, string>
  config: Record<string, number | string | boolean>
  subjects: { name: SubjectName; setup: { multiTier: string; l2Only: string } }[]
  workloads: WorkloadResult[]
  commands: Partial<Record<SubjectName, Partial<Record<WorkloadId, CommandCount>>>>
  checks: Record<string, string | number>
  wallSeconds: number
}

export const WORKLOAD_SHORT: Record<WorkloadId, string> = {
  A: 'A L1 hit',
  B: 'B L2 hit, sequential',
  B64: 'B L2 hit, 64 concurrent',
  C: 'C stampede, 1000 callers',
  D: 'D batch of 100 L2 keys',
  E: 'E miss + load + set',
  heap: 'heap per entry (100k)',
}

export function formatValue(value: number | undefined, unit: WorkloadResult['unit']): string {
  if (value === undefined || !Number.isFinite(value)) return '—'
  switch (unit) {
    case 'ns':
      return `${value.toFixed(0)} ns`
    case 'µs':
      return `${value < 100 ? value.toFixed(1) : value.toFixed(0)} µs`
    case 'ms':
      return `${value.toFixed(2)} ms`
    case 'gets/s':
      return `${Math.round(value).toLocaleString('en-US')} gets/s`
    case 'B/entry':
      return `${value.toFixed(0)} B`
  }
}

export function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '—'
  return `${ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}×`
}

export function formatTarget(w: Pick<WorkloadResult, 'target' | 'direction'>): string {
  if (w.target === null) return '—'
  return `${w.direction === 'lower' ? '≤' : '≥'} ${w.target}×`
}

export function meetsTarget(ratio: number, w: Pick<WorkloadResult, 'target' | 'direction'>): boolean {
  if (w.target === null) return true
  return w.direction === 'lower' ? ratio <= w.target : ratio >= w.target
}

/** The cell of one subject: its value and its ratio to the raw baseline. */
export function cell(w: WorkloadResult, subject: SubjectName): string {
  const value = w.values[subject]
  if (value === undefined) return 'not run'
  if (subject === 'raw') return formatValue(value, w.unit)
  return `${formatValue(value, w.unit)} (${formatRatio(w.ratios[subject])})`
}

/** Rows of the main table, in the order of `subjects`. */
export function tableRows(results: CompareResults, subjects: readonly SubjectName[]): string[][] {
  const header = ['workload', 'statistic', ...subjects.map((s) => (s === 'raw' ? 'raw baseline' : `${SUBJECT_LABELS[s]} (× raw)`)), 'target', 'tiercache']
  const rows = results.workloads.map((w) => [WORKLOAD_SHORT[w.id], w.statistic, ...subjects.map((s) => cell(w, s)), formatTarget(w), w.verdict])
  return [header, ...rows]
}

export function markdownTable(rows: readonly (readonly string[])[]): string {
  const [header, ...body] = rows
  if (header === undefined) return ''
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...body.map(line)].join('\n')
}

export function plainTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)))
  const render = (row: readonly string[]): string => row.map((cellText, c) => (c < 2 ? cellText.padEnd(widths[c]!) : cellText.padStart(widths[c]!))).join('  ')
  return [render(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(render)].join('\n')
}

/** Redis commands per operation, one row per workload, one column per subject. */
export function commandRows(results: CompareResults, subjects: readonly SubjectName[]): string[][] {
  const ids: WorkloadId[] = ['A', 'B', 'B64', 'C', 'D', 'E']
  const header = ['workload', 'per', ...subjects.map((s) => SUBJECT_LABELS[s])]
  const rows = ids.map((id) => {
    const per = subjects.map((s) => results.commands[s]?.[id]?.per).find((p) => p !== undefined) ?? ''
    return [
      WORKLOAD_SHORT[id],
      per,
      ...subjects.map((s) => {
        const count = results.commands[s]?.[id]
        if (count === undefined) return '—'
        const parts = Object.entries(count.breakdown)
          .filter(([, n]) => n >= 0.005)
          .sort((a, b) => b[1] - a[1])
          .map(([name, n]) => `${round2(n)} ${name.toUpperCase()}`)
        return parts.length === 0 ? '0' : `${round2(count.perOp)} (${parts.join(', ')})`
      }),
    ]
  })
  return [header, ...rows]
}

function round2(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0$/, '')
}

/** The metrics the regression gate compares: tiercache's ratio on every workload it ran. */
export function gateMetrics(results: CompareResults): Record<string, { ratio: number; direction: 'lower' | 'higher' }> {
  const metrics: Record<string, { ratio: number; direction: 'lower' | 'higher' }> = {}
  for (const w of results.workloads) {
    const ratio = w.ratios.tiercache
    if (ratio !== undefined && Number.isFinite(ratio)) metrics[w.id] = { ratio, direction: w.direction }
  }
  return metrics
}

/** How much worse `current` is than `baseline` (0.2 = 20 % worse; negative = better), in the metric's direction. */
export function regression(baseline: number, current: number, direction: 'lower' | 'higher'): number {
  return direction === 'lower' ? current / baseline - 1 : baseline / current - 1
}

export function machineLine(results: CompareResults): string {
  const m = results.machine
  return `node ${m.node} | ${m.cpu} ×${m.cores} | ${m.os} | redis ${m.redis} (${m.redisSource}) | load ${m.loadavg.start[0]}→${m.loadavg.end[0]} | ${m.date}`
}
