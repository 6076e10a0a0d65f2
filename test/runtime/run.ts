/**
 * Runs the runtime suite (test/runtime/suite.ts) on Node, Deno, Bun and workerd, each over
 * TCP and over HTTP, against a real Redis (REDIS_URL, or a private redis-server) and the REST
 * bridge in front of it. Every runtime imports the BUILT package by name, so the export
 * conditions are what is tested: run `npm run build` first (`npm test` does).
 *
 *   node --import tsx test/runtime/run.ts [node] [deno] [bun] [workerd]
 *
 * Prints one line per runtime with its duration, writes .test-results/runtime.json for
 * scripts/test.mjs, and exits non-zero when a case failed or a runtime did not start (which
 * counts as every one of its cases failing: a runtime that cannot start is a failure, not a skip).
 * TIERCACHE_RT_ONLY=<text> runs only the cases whose name includes it.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { Miniflare } from 'miniflare'
import { startRedisServer, INSTALL_HINT, type RedisServer } from '../support/redis-server.js'
import { startBridge, type RunningBridge } from '../support/bridge.js'
import { cases, REPORT_MARKER, type SuiteReport } from './suite.js'
import { createCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { redis } from '../../adapters/redis.js'

const root = join(import.meta.dirname, '..', '..')
const results = join(root, '.test-results')
const bin = (name: string): string => join(root, 'node_modules', '.bin', name)
const only = process.env.TIERCACHE_RT_ONLY || undefined
const RUNTIME_TIMEOUT_MS = 180_000

/** Environment for every child: no colours, no update checks, nothing fetched from outside. */
const quietEnv = {
  NO_COLOR: '1',
  FORCE_COLOR: '0',
  DENO_NO_UPDATE_CHECK: '1',
  DENO_NO_PROMPT: '1',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_SEND_METRICS: 'false',
}

// this process runs Miniflare itself
Object.assign(process.env, { CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' })

export interface RuntimeResult {
  runtime: string
  /** Wall time of the runtime's whole suite, start-up included. */
  ms: number
  passed: number
  failed: number
  /** Time by phase: start-up steps and each transport's suite. */
  phases: Record<string, number>
  failures: string[]
  reports: SuiteReport[]
}

interface Output {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = RUNTIME_TIMEOUT_MS): Promise<Output> {
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...quietEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${timeoutMs} ms]`
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', (error) => {
      stderr += `\n${error.message}`
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: performance.now() - started })
    })
  })
}

const tail = (text: string, lines = 15): string => text.trim().split('\n').slice(-lines).join('\n')

/** How many cases a runtime must report; fewer counts the missing ones as failed. */
function expectedCases(runtime: string): number {
  const selected = cases.filter((c) => only === undefined || c.name.includes(only)).length
  return selected * 2 + (runtime === 'workerd' && only === undefined ? WORKERD_EXTRA : 0)
}
/** The Workers-only cases of test/runtime/workerd/worker.ts (4), the cross-request isolate check (1) and the Node ↔ workerd invalidation check (1). */
const WORKERD_EXTRA = 6

function tally(runtime: string, ms: number, phases: Record<string, number>, reports: SuiteReport[], extraFailures: string[], extraPassed = 0): RuntimeResult {
  const failures = [...extraFailures]
  let passed = extraPassed
  let failed = extraFailures.length
  for (const report of reports) {
    passed += report.passed
    failed += report.failed
    phases[report.transport] = report.ms
    for (const r of report.results) if (!r.ok) failures.push(`${report.transport}: ${r.name}: ${r.error ?? 'failed'}`)
  }
  const missing = expectedCases(runtime) - passed - failed
  if (missing > 0) {
    failed += missing
    failures.push(`${failed > missing ? 'the other ' : ''}${missing} case(s) did not run: counted as failed`)
  }
  return { runtime, ms, passed, failed, phases, failures, reports }
}

function parseReports(stdout: string): SuiteReport[] {
  const line = stdout.split('\n').find((l) => l.startsWith(REPORT_MARKER))
  return line === undefined ? [] : (JSON.parse(line.slice(REPORT_MARKER.length)) as SuiteReport[])
}

async function runProcess(runtime: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<RuntimeResult> {
  if (!existsSync(command) && command !== process.execPath) {
    return tally(runtime, 0, {}, [], [`${runtime} did not start: ${command} is missing (npm ci installs it)`])
  }
  const out = await run(command, args, env)
  let reports: SuiteReport[] = []
  const problems: string[] = []
  try {
    reports = parseReports(out.stdout)
  } catch (error) {
    problems.push(`unreadable report: ${(error as Error).message}`)
  }
  if (reports.length === 0 || out.code !== 0) {
    problems.push(`${runtime} exited with code ${out.code}${reports.length === 0 ? ' without a report' : ''}:\n${tail(out.stderr || out.stdout)}`)
  }
  return tally(runtime, out.ms, {}, reports, problems)
}

function tomlValue(toml: string, key: string): string {
  return new RegExp(`^${key}\\s*=\\s*"([^"]+)"`, 'm').exec(toml)?.[1] ?? ''
}

async function runWorkerd(env: Record<string, string>): Promise<RuntimeResult> {
  const started = performance.now()
  const phases: Record<string, number> = {}
  const config = join(root, 'test', 'runtime', 'workerd', 'wrangler.toml')
  const outdir = join(results, 'workerd-bundle')
  rmSync(outdir, { recursive: true, force: true })
  // wrangler's own bundler (esbuild with the workerd conditions and its nodejs_compat handling)
  const bundle = await run(bin('wrangler'), ['deploy', '--dry-run', '--outdir', outdir, '--config', config], {})
  phases['bundle (wrangler)'] = bundle.ms
  const script = join(outdir, 'worker.js')
  if (bundle.code !== 0 || !existsSync(script)) {
    return tally('workerd', performance.now() - started, phases, [], [`workerd did not start: wrangler could not bundle the suite (exit ${bundle.code}):\n${tail(bundle.stderr + bundle.stdout)}`])
  }
  const toml = readFileSync(config, 'utf8')
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1]?.match(/"[^"]+"/g)?.map((f) => f.slice(1, -1)) ?? []
  let mf: Miniflare | undefined
  const extraFailures: string[] = []
  let extraPassed = 0
  const reports: SuiteReport[] = []
  // workerd's own output, shown only when something failed
  let log = ''
  const collect = (stream: Readable): void => void stream.on('data', (chunk: Buffer) => (log += chunk.toString()))
  try {
    const t0 = performance.now()
    mf = new Miniflare({
      modules: [{ type: 'ESModule', path: script, contents: readFileSync(script, 'utf8') }],
      compatibilityDate: tomlValue(toml, 'compatibility_date'),
      compatibilityFlags: flags,
      bindings: env,
      cf: false, // the built-in request.cf: never fetch it from the internet
      handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
        collect(stdout)
        collect(stderr)
      },
    })
    await mf.ready
    phases['start (miniflare)'] = performance.now() - t0
    for (const transport of ['tcp', 'http']) {
      const query = new URLSearchParams({ transport, ...(only === undefined ? {} : { only }) })
      const response = await mf.dispatchFetch(`http://localhost/suite?${query}`)
      const text = await response.text()
      if (response.status !== 200) extraFailures.push(`${transport}: the suite request answered ${response.status}: ${text.slice(0, 500)}`)
      else reports.push(JSON.parse(text) as SuiteReport)
    }
    if (only === undefined) {
      // the L1 of a fromEnv cache outlives the request: a second request hits it
      const t1 = performance.now()
      const ns = `rt-workerd-isolate-${Math.random().toString(36).slice(2, 10)}`
      await (await mf.dispatchFetch(`http://localhost/isolate?step=1&ns=${ns}`)).text()
      const second = (await (await mf.dispatchFetch(`http://localhost/isolate?step=2&ns=${ns}`)).json()) as Record<string, unknown>
      const expected = { sameInstance: true, value: 'from the first request', l1Hits: 1 }
      if (JSON.stringify(second) === JSON.stringify(expected)) extraPassed++
      else extraFailures.push(`isolate: fromEnv keeps one cache and its L1 across requests: expected ${JSON.stringify(expected)}, got ${JSON.stringify(second)}`)
      phases.isolate = performance.now() - t1

      // a Node process (Pub/Sub over TCP) and the Worker (stream polling over HTTP) share a namespace
      const t2 = performance.now()
      const failure = await crossRuntimeInvalidation(mf, env.REDIS_URL!)
      if (failure === undefined) extraPassed++
      else extraFailures.push(`Node ↔ workerd invalidation: ${failure}`)
      phases['Node ↔ workerd invalidation'] = performance.now() - t2
    }
  } catch (error) {
    extraFailures.push(`workerd did not start or crashed: ${(error as Error).message}`)
  } finally {
    await mf?.dispose().catch(() => undefined)
  }
  const result = tally('workerd', performance.now() - started, phases, reports, extraFailures, extraPassed)
  // node-redis adds a socket 'timeout' listener per connection under nodejs_compat: harmless noise
  const output = log.split('\n').filter((line) => !line.includes('Possible EventEmitter memory leak')).join('\n').trim()
  if (result.failed > 0 && output !== '') result.failures.push(`workerd output:\n${tail(output, 30)}`)
  return result
}

/**
 * A write on Node reaches the Worker's L1 within pollInterval + a round trip, and a write in
 * the Worker reaches Node's L1 over Pub/Sub. Resolves to a failure message, or undefined.
 */
async function crossRuntimeInvalidation(mf: Miniflare, redisUrl: string): Promise<string | undefined> {
  const ns = `rt-cross-${Math.random().toString(36).slice(2, 10)}`
  const worker = async (op: string, value = ''): Promise<{ value: unknown; l1Hits: number }> =>
    (await (await mf.dispatchFetch(`http://localhost/inval?ns=${ns}&op=${op}&value=${encodeURIComponent(value)}`)).json()) as { value: unknown; l1Hits: number }
  const node = createCache({ namespace: ns, l1: lru(), l2: redis({ url: redisUrl }), invalidation: { transport: 'pubsub' } })
  const until = async (read: () => Promise<unknown>, expected: unknown, bound: number): Promise<boolean> => {
    const deadline = Date.now() + bound
    do {
      if ((await read()) === expected) return true
      await new Promise((resolve) => setTimeout(resolve, 20))
    } while (Date.now() < deadline)
    return false
  }
  try {
    await node.ready()
    await node.set('k', 'v1')
    if ((await worker('get')).value !== 'v1') return 'the Worker did not read the value Node wrote'
    if ((await worker('get')).l1Hits < 1) return "the Worker's second read was not an L1 hit"
    await node.set('k', 'v2')
    if (!(await until(async () => (await worker('get')).value, 'v2', 100 + 1000))) return "the Worker kept serving v1 from its L1 past pollInterval + a round trip"
    if ((await node.get('k')) !== 'v2') return 'Node lost its own write'
    await worker('set', 'v3')
    if (!(await until(() => node.get('k', { disableLoad: true }), 'v3', 1000))) return "Node kept serving v2 from its L1 after the Worker's write"
    return undefined
  } finally {
    await worker('close').catch(() => undefined)
    await node.close()
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

async function main(): Promise<void> {
  const wanted = process.argv.slice(2)
  const runtimes = wanted.length > 0 ? wanted : ['node', 'deno', 'bun', 'workerd']
  mkdirSync(results, { recursive: true })
  const started = performance.now()
  const out: RuntimeResult[] = []
  let server: RedisServer | undefined
  let bridge: RunningBridge | undefined
  try {
    if (!existsSync(join(root, 'dist', 'runtimes', 'node.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)')
    let redisUrl = process.env.REDIS_URL
    if (redisUrl === undefined || redisUrl === '') {
      server = await startRedisServer().catch((error: Error) => {
        throw new Error(`cannot start Redis: ${error.message}\n${INSTALL_HINT}`)
      })
      redisUrl = server.url
    }
    bridge = await startBridge(redisUrl)
    const childEnv = { TIERCACHE_RT_REDIS_URL: redisUrl, TIERCACHE_RT_REST_URL: bridge.url, TIERCACHE_RT_REST_TOKEN: bridge.token }
    for (const runtime of runtimes) {
      let result: RuntimeResult
      if (runtime === 'node') result = await runProcess('node', process.execPath, ['--import', 'tsx', 'test/runtime/node.ts'], childEnv)
      else if (runtime === 'bun') result = await runProcess('bun', bin('bun'), ['--no-install', 'test/runtime/bun.ts'], childEnv)
      else if (runtime === 'deno') {
        result = await runProcess('deno', bin('deno'), ['run', '--sloppy-imports', '--allow-env', '--allow-net', '--allow-read', 'test/runtime/deno.ts'], childEnv)
      } else if (runtime === 'workerd') {
        result = await runWorkerd({ REDIS_URL: redisUrl, UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token })
      } else throw new Error(`unknown runtime ${runtime}: use node, deno, bun or workerd`)
      out.push(result)
      const phases = Object.entries(result.phases).map(([name, ms]) => `${name} ${seconds(ms)}`).join(', ')
      const mark = result.failed === 0 ? '✓' : '✗'
      console.log(`${mark} ${result.runtime.padEnd(8)} ${result.passed}/${result.passed + result.failed} passed in ${seconds(result.ms)} (${phases})`)
      for (const failure of result.failures) console.log(`    ✗ ${failure.replace(/\n/g, '\n      ')}`)
    }
  } catch (error) {
    // nothing could run: every runtime asked for counts as failed
    for (const runtime of runtimes.filter((r) => !out.some((o) => o.runtime === r))) {
      out.push(tally(runtime, 0, {}, [], [`${runtime} did not run: ${(error as Error).message}`]))
    }
    console.log(`✗ the runtime suites could not run: ${(error as Error).message}`)
  } finally {
    await bridge?.close().catch(() => undefined)
    await server?.stop().catch(() => undefined)
  }
  const passed = out.reduce((n, r) => n + r.passed, 0)
  const failed = out.reduce((n, r) => n + r.failed, 0)
  const ms = performance.now() - started
  writeFileSync(join(results, 'runtime.json'), JSON.stringify({ passed, failed, ms, runtimes: out }, null, 2))
  console.log(`runtime suites: ${passed} passed, ${failed} failed in ${seconds(ms)}`)
  process.exit(failed === 0 ? 0 : 1)
}

await main()
