/**
 * Route-cache throughput: `cacheRoute` on its L1-hit path against the same server's uncached
 * route and a static "hello" route, under autocannon on loopback.
 *
 *   static    GET /hello                 c.text('hello')
 *   cached    GET /cached/products/42    cacheRoute({ cache }) as middleware before the API handler; every request an L1 hit
 *   wrapped   GET /wrapped/products/42   cacheRoute({ cache }, handler): the route's only handler, L1 hits answered synchronously
 *   uncached  GET /uncached/products/42  the API handler (waits API_DELAY_MS, default 10, then one product as JSON)
 *   floor     GET /floor/products/42     for reference: the least a caching middleware can do on a hit (one L1
 *                                        read, one Response with the same headers, none of the HTTP rules)
 *
 * The server (bench/hono-server.ts) runs in its own process; this one only generates load.
 * Each route gets DURATION_S (default 5) seconds per round with CONNECTIONS (default 50)
 * connections, as one-second slices taken in turn (static, cached, uncached, static, …), so a
 * burst of load from elsewhere on the machine hits every route alike. Per route and round:
 * req/s (requests / seconds), p99 latency (median of its slices), and the server's CPU time per
 * request (from /proc, Linux only). The table shows the median over ROUNDS (default 3) and each
 * route's ratio to the static route. It only reports (target for the cached route: ≥ 0.8×
 * static); the exit code does not depend on the numbers.
 *
 * Run: `npm run bench:hono` (builds first) or `npx tsx bench/hono.ts`. Writes bench/results/hono-latest.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { startPrintingUrl } from '../test/support/process.js'
import { loadNow, median } from './common.js'

const here = dirname(fileURLToPath(import.meta.url))
const DURATION_S = Number(process.env.DURATION_S ?? 5)
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50)
const TARGET = 0.8

const routes = [
  { name: 'static', path: '/hello' },
  { name: 'cached', path: '/cached/products/42' },
  { name: 'wrapped', path: '/wrapped/products/42' },
  { name: 'uncached', path: '/uncached/products/42' },
  { name: 'floor', path: '/floor/products/42' },
] as const
type RouteName = (typeof routes)[number]['name']

interface Totals { requests: number; seconds: number; p99s: number[]; cpuMs: number; errors: number }

/** CPU time (user + system) of a process in ms, or NaN where /proc is not available. */
function cpuMs(pid: number): number {
  const stat = `/proc/${pid}/stat`
  if (!existsSync(stat)) return Number.NaN
  const fields = readFileSync(stat, 'utf8').split(') ')[1]!.split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 // utime + stime, in clock ticks of 10 ms
}

async function slice(url: string, pid: number, totals: Totals): Promise<void> {
  const before = cpuMs(pid)
  const result = await autocannon({ url, connections: CONNECTIONS, duration: 1, pipelining: 1 })
  totals.cpuMs += cpuMs(pid) - before
  totals.requests += result.requests.total
  totals.seconds += result.duration
  totals.p99s.push(result.latency.p99)
  totals.errors += result.errors + result.non2xx
}

async function main(): Promise<void> {
  const loadAtStart = loadNow()
  const server = await startPrintingUrl(process.execPath, ['--import', 'tsx', join(here, 'hono-server.ts')], { PORT: '0' })
  const pid = server.child.pid!
  try {
    const base = server.url
    // warm the entry and check the cached route really answers from L1
    await (await fetch(`${base}/floor/products/42`)).text()
    const uncached = await (await fetch(`${base}/uncached/products/42`)).text()
    for (const path of ['/cached/products/42', '/wrapped/products/42']) {
      await (await fetch(base + path)).text()
      const probe = await fetch(base + path)
      const body = await probe.text()
      if (probe.headers.get('x-cache') !== 'HIT' || !probe.headers.get('server-timing')?.includes('"l1"') || body !== uncached) {
        throw new Error(`${path} is not an L1 hit: x-cache=${probe.headers.get('x-cache')} server-timing=${probe.headers.get('server-timing')}`)
      }
    }
    // a short warm-up of every route (JIT, connection handling)
    for (const route of routes) await autocannon({ url: base + route.path, connections: CONNECTIONS, duration: 1 })

    const rounds: Record<RouteName, { rps: number; p99Ms: number; cpuUs: number }>[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const totals = Object.fromEntries(routes.map((r): [RouteName, Totals] => [r.name, { requests: 0, seconds: 0, p99s: [], cpuMs: 0, errors: 0 }])) as Record<RouteName, Totals>
      for (let s = 0; s < DURATION_S; s++) {
        for (let i = 0; i < routes.length; i++) {
          const route = routes[(i + s + round) % routes.length]!
          await slice(base + route.path, pid, totals[route.name])
        }
      }
      const result = Object.fromEntries(routes.map((r) => {
        const t = totals[r.name]
        if (t.errors > 0) throw new Error(`${r.name}: ${t.errors} errors or non-2xx answers`)
        return [r.name, { rps: Math.round(t.requests / t.seconds), p99Ms: median(t.p99s), cpuUs: Math.round((t.cpuMs * 1000) / t.requests) }]
      })) as Record<RouteName, { rps: number; p99Ms: number; cpuUs: number }>
      rounds.push(result)
      console.log(`round ${round + 1}: ${routes.map((r) => `${r.name} ${result[r.name].rps} req/s p99 ${result[r.name].p99Ms} ms ${result[r.name].cpuUs} µs CPU/req`).join(' | ')}`)
    }

    const summary = Object.fromEntries(routes.map((r) => [r.name, {
      rps: median(rounds.map((x) => x[r.name].rps)),
      p99Ms: median(rounds.map((x) => x[r.name].p99Ms)),
      cpuUsPerRequest: median(rounds.map((x) => x[r.name].cpuUs)),
    }])) as Record<RouteName, { rps: number; p99Ms: number; cpuUsPerRequest: number }>
    const staticRps = summary.static.rps
    console.log(`\nmedian of ${ROUNDS} rounds × ${DURATION_S} s per route, ${CONNECTIONS} connections, loopback, ${cpus().length} CPUs shared with autocannon (load at start ${loadAtStart.join(' ')})`)
    console.log('route       req/s    p99   server CPU/req   × static')
    for (const r of routes) {
      const s = summary[r.name]
      console.log(`${r.name.padEnd(9)} ${String(s.rps).padStart(7)}  ${`${s.p99Ms} ms`.padStart(6)}  ${`${s.cpuUsPerRequest} µs`.padStart(10)}        ${(s.rps / staticRps).toFixed(2)}`)
    }
    const ratio = summary.cached.rps / staticRps
    const wrapped = summary.wrapped.rps / staticRps
    console.log(`\ncached / static = ${ratio.toFixed(2)} (target ≥ ${TARGET}: ${ratio >= TARGET ? 'met' : 'NOT met'}); cached / uncached = ${(summary.cached.rps / summary.uncached.rps).toFixed(1)}×; cached / floor = ${(summary.cached.rps / summary.floor.rps).toFixed(2)}`)
    console.log(`wrapped / static = ${wrapped.toFixed(2)} (target ≥ ${TARGET}: ${wrapped >= TARGET ? 'met' : 'NOT met'})`)

    const out = join(here, 'results', 'hono-latest.json')
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, `${JSON.stringify({
      date: new Date().toISOString(), node: process.version, cpus: cpus().length, loadAtStart,
      durationS: DURATION_S, rounds: ROUNDS, connections: CONNECTIONS, summary,
      ratios: {
        cachedVsStatic: ratio, wrappedVsStatic: wrapped, uncachedVsStatic: summary.uncached.rps / staticRps, floorVsStatic: summary.floor.rps / staticRps,
        cachedVsUncached: summary.cached.rps / summary.uncached.rps, cachedVsFloor: summary.cached.rps / summary.floor.rps,
      },
      perRound: rounds,
    }, null, 2)}\n`)
    console.log(`wrote ${out}`)
  } finally {
    await server.stop()
  }
}

await main()
