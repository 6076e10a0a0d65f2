/**
 * Cross-instance invalidation benchmark: how fast a write on one instance reaches the L1 of
 * another, and what request-driven stream polling costs a request.
 *
 *   (1) Pub/Sub propagation over TCP: A `set`s a key B holds in L1; time from just before
 *       A.set to B's `onEvent({ type: 'invalidation' })` for that key.
 *   (2) Stream-polling staleness over TCP and over HTTP (the tiercache-bridge bin in its own
 *       process): B (`transport: 'stream'`, pollInterval 100 ms) reads the key every ~2 ms;
 *       A writes a new value at a random moment; staleness = time from A.set resolving until
 *       B first returns the new value. Compared with pollInterval + one round trip.
 *   (3) The cost a poll adds to a request: an L1-hit `get` on a cache whose poll is due on
 *       every measured request (pollInterval 10 ms, an 11 ms pause before each sample) against
 *       the same setup whose next poll is an hour away, next to a raw GET after the same pause.
 *       Not pollInterval 1: a due poll is awaited and the get re-run, and the next poll is due
 *       pollInterval after the last one started, so a poll slower than pollInterval makes the
 *       same get poll again (see (+)); samples with more than one poll are counted apart.
 *   (+) A short check of that: L1-hit gets with pollInterval 1 ms, each capped at 500 ms (a
 *       capped get is ended by closing its cache).
 *
 * Every loop has a fixed count and every wait a deadline; (2) and (3) alternate TCP and HTTP
 * per round so drift on the machine does not favour one. All traffic is on loopback against
 * a private redis-server (never REDIS_URL or a shared Redis). There are no timing assertions.
 *
 * Run: `npm run build && npx tsx bench/invalidation.ts` (the bridge bin comes from dist/).
 * Writes bench/results/invalidation-latest.json.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient } from 'redis'
import { Redis as UpstashRedis } from '@upstash/redis'
import { createCache, type CacheEvent, type CacheOptions, type L2Store, type TierCache } from 'tiercache'
import { lru } from 'tiercache/lru'
import { redis } from 'tiercache/redis'
import { upstash } from 'tiercache/upstash'
import { startRedisServer } from '../test/support/redis-server.js'
import { startPrintingUrl, type Started } from '../test/support/process.js'
import { loadNow, machineRecord, redisVersionOf, median } from './common.js'

// (1) Pub/Sub propagation
const PUBSUB_WRITES = 500
const PUBSUB_WARMUP = 30
const PUBSUB_EVENT_DEADLINE_MS = 1_000
// (2) stream staleness
const STREAM_POLL_MS = 100
const STREAM_WRITES = 100 // per transport
const STREAM_ROUNDS = 4 // STREAM_WRITES / STREAM_ROUNDS writes per transport per round
const READ_EVERY_MS = 2
const SEEN_DEADLINE_MS = 2_000
// (3) poll cost
const COST_POLL_MS = 10 // longer than any poll here takes, so a due poll runs exactly once
const COST_ROUNDS = 5
const COST_SAMPLES = 80 // per side per round; one pause of COST_POLL_MS + 1 ms before each pair
// round-trip reference
const RTT_SAMPLES = 300
// (+) pollInterval shorter than a poll
const STORM_POLL_MS = 1
const STORM_GETS = 15
const STORM_CAP_MS = 500
// the whole run; past this everything is closed and the process exits non-zero
const WATCHDOG_MS = 180_000

// ---------------------------------------------------------------- helpers

const now = (): number => performance.now()
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))


/** Nearest-rank percentile, q in (0, 1]. */
function percentile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!
}

interface Dist { n: number; p50: number; p99: number; max: number; min: number; mean: number }
function dist(xs: readonly number[]): Dist {
  return {
    n: xs.length,
    p50: percentile(xs, 0.5),
    p99: percentile(xs, 0.99),
    max: xs.length === 0 ? Number.NaN : Math.max(...xs),
    min: xs.length === 0 ? Number.NaN : Math.min(...xs),
    mean: xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length,
  }
}

/** Resolves to `value`, or to `fallback` after `ms` (the timer is cleared either way). */
async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<F>((resolve) => { timer = setTimeout(() => resolve(fallback), ms) })])
  } finally {
    clearTimeout(timer)
  }
}

const TIMEOUT = Symbol('timeout')

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((line) => line[c]!.length)))
  const render = (line: string[]): string => line.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')
  return [render(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(render)].join('\n')
}
const ms = (v: number): string => (Number.isNaN(v) ? '-' : `${v.toFixed(2)} ms`)
const us = (v: number): string => (Number.isNaN(v) ? '-' : `${v.toFixed(1)} µs`)

type Transport = 'tcp' | 'http'

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const wallStart = Date.now()
  const loadAtStart = loadNow()
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'adapters', 'bridge', 'cli.js')
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first (the bridge runs as the built bin in its own process)`)

  const caches: TierCache[] = []
  const closers: (() => Promise<unknown>)[] = []
  let closed = false
  const closeAll = async (): Promise<void> => {
    if (closed) return
    closed = true
    await Promise.allSettled(caches.map((cache) => within(cache.close(), 5_000, undefined)))
    for (const close of closers.reverse()) await within(close().catch(() => undefined), 5_000, undefined)
  }
  const watchdog = setTimeout(() => {
    console.error(`watchdog: the run took longer than ${WATCHDOG_MS / 1000} s; closing everything`)
    process.exitCode = 2
    void closeAll().finally(() => process.exit(2))
  }, WATCHDOG_MS)
  watchdog.unref()

  // A private redis-server: a shared Redis (127.0.0.1:6379, REDIS_URL) is never touched.
  const server = await startRedisServer()
  closers.push(() => server.stop())
  const url = server.url
  const token = `bench-token-${process.pid}-${Date.now()}`
  // The bridge runs in a process of its own, as in production, so its work does not share
  // this event loop with the caches being measured.
  const bridge: Started = await startPrintingUrl(process.execPath, [cli], { REDIS_URL: url, BRIDGE_TOKEN: token, PORT: '0', HOST: '127.0.0.1' })
  closers.push(() => bridge.stop())
  const client = createClient({ url })
  client.on('error', (error: unknown) => console.error('raw client error:', error))
  closers.push(async () => { if (client.isOpen) await client.close() })
  const rawHttp = new UpstashRedis({ url: bridge.url, token, automaticDeserialization: false, enableTelemetry: false })

  const runId = `${process.pid}-${Date.now().toString(36)}`
  const store = (transport: Transport): L2Store => (transport === 'tcp' ? redis({ url }) : upstash({ url: bridge.url, token }))
  const make = (options: CacheOptions): TierCache => {
    const cache = createCache({ ttl: '1h', jitter: 0, ...options })
    caches.push(cache)
    return cache
  }
  const progress = (text: string): void => { process.stderr.write(`${text}\n`) }

  try {
    await client.connect()
    const redisVersion = redisVersionOf(await client.info('server'))

    // ---------------------------------------------------------------- round-trip reference
    // One command on each transport: node-redis GET over TCP, @upstash/redis GET through the
    // bridge (what a poll costs at least, and the "one round trip" of the bounds).
    await client.set('rtt', 'x')
    const rtt: Record<Transport, number[]> = { tcp: [], http: [] }
    const rttOnce = async (transport: Transport): Promise<void> => {
      const t0 = now()
      if (transport === 'tcp') await client.get('rtt')
      else await rawHttp.get('rtt')
      rtt[transport].push(now() - t0)
    }
    for (let i = 0; i < 50; i++) { await rttOnce('tcp'); await rttOnce('http') } // warm-up
    rtt.tcp.length = 0
    rtt.http.length = 0
    for (let i = 0; i < RTT_SAMPLES; i++) {
      const order: Transport[] = i % 2 === 0 ? ['tcp', 'http'] : ['http', 'tcp']
      for (const t of order) await rttOnce(t)
    }
    const rttDist = { tcp: dist(rtt.tcp), http: dist(rtt.http) }
    progress(`round trip: tcp p50 ${ms(rttDist.tcp.p50)}, http p50 ${ms(rttDist.http.p50)}`)

    // ---------------------------------------------------------------- (1) Pub/Sub over TCP
    const pubsub = await (async () => {
      const namespace = `inv-pubsub-${runId}`
      let pending: { key: string; resolve: (at: number) => void } | undefined
      let unmatched = 0
      const onEvent = (event: CacheEvent): void => {
        if (event.type !== 'invalidation') return
        const at = now()
        if (pending !== undefined && event.keys?.includes(pending.key) === true) {
          const { resolve } = pending
          pending = undefined
          resolve(at)
        } else unmatched++
      }
      const a = make({ namespace, l1: lru(), l2: store('tcp'), invalidation: { transport: 'pubsub' } })
      const b = make({ namespace, l1: lru(), l2: store('tcp'), invalidation: { transport: 'pubsub' }, onEvent })
      await Promise.all([a.ready(), b.ready()])
      await sleep(400) // past the post-subscription catch-up (250 ms)
      if (!b.stats().invalidation.listening) throw new Error('(1) B is not subscribed')
      const key = 'pubsub-key'
      const eventMs: number[] = []
      const setMs: number[] = []
      let eventBeforeSet = 0
      let missed = 0
      let notInL1 = 0
      await a.set(key, -1)
      await sleep(50) // B's event for the initial value is not a timed write
      unmatched = 0
      for (let i = 0; i < PUBSUB_WARMUP + PUBSUB_WRITES; i++) {
        // B holds the current value in L1: the first get promotes it (after the last
        // invalidation dropped it), the second must be an L1 hit
        await b.get(key, { disableLoad: true })
        const hitsBefore = b.stats().tiers.l1!.hits
        const held = await b.get(key, { disableLoad: true })
        if (b.stats().tiers.l1!.hits !== hitsBefore + 1 || held !== i - 1) notInL1++
        await sleep(1 + Math.random() * 2)
        const seen = new Promise<number>((resolve) => { pending = { key, resolve } })
        const t0 = now()
        let setAt = Number.NaN
        const writing = a.set(key, i).then(() => { setAt = now() })
        const at = await within(seen, PUBSUB_EVENT_DEADLINE_MS, TIMEOUT)
        await writing
        pending = undefined
        if (i < PUBSUB_WARMUP) continue
        setMs.push(setAt - t0)
        if (at === TIMEOUT) {
          missed++
          continue
        }
        eventMs.push(at - t0)
        if (at < setAt) eventBeforeSet++
      }
      const stats = b.stats().invalidation
      return { writes: PUBSUB_WRITES, event: dist(eventMs), set: dist(setMs), eventBeforeSet, missed, notInL1, unmatched, bStats: stats, samples: eventMs }
    })()
    progress(`(1) pubsub: p50 ${ms(pubsub.event.p50)}, p99 ${ms(pubsub.event.p99)}, max ${ms(pubsub.event.max)}`)

    // ---------------------------------------------------------------- (2) stream staleness
    interface StalenessSetup {
      transport: Transport
      a: TierCache
      b: TierCache
      key: string
      next: number
      staleness: number[]
      seenBeforeSet: number
      missed: number
      readerGaps: number[]
      setMs: number[]
    }
    const stalenessSetups: StalenessSetup[] = []
    for (const transport of ['tcp', 'http'] as const) {
      const namespace = `inv-stream-${transport}-${runId}`
      const invalidation = { transport: 'stream', pollInterval: STREAM_POLL_MS } as const
      const a = make({ namespace, l1: lru(), l2: store(transport), invalidation })
      const b = make({ namespace, l1: lru(), l2: store(transport), invalidation })
      stalenessSetups.push({ transport, a, b, key: `stream-key-${transport}`, next: 0, staleness: [], seenBeforeSet: 0, missed: 0, readerGaps: [], setMs: [] })
    }

    /** One block of writes on one setup, B's reader running only during the block. */
    const stalenessBlock = async (s: StalenessSetup, writes: number): Promise<void> => {
      let target: number | undefined
      let seenAt: number | undefined
      let notify: (() => void) | undefined
      let reading = true
      const blockDeadline = now() + writes * (STREAM_POLL_MS + SEEN_DEADLINE_MS) + 5_000
      const reader = (async () => {
        let last: number | undefined
        while (reading && now() < blockDeadline) {
          const value = await s.b.get(s.key, { disableLoad: true })
          const at = now()
          if (last !== undefined) s.readerGaps.push(at - last)
          last = at
          if (target !== undefined && seenAt === undefined && value === target) {
            seenAt = at
            notify?.()
          }
          await sleep(READ_EVERY_MS)
        }
      })()
      try {
        for (let i = 0; i < writes; i++) {
          // a random moment relative to B's poll schedule (polls are pollInterval apart)
          await sleep(Math.random() * STREAM_POLL_MS)
          const value = ++s.next
          seenAt = undefined
          const seen = new Promise<void>((resolve) => { notify = resolve })
          target = value
          const t0 = now()
          await s.a.set(s.key, value)
          const setAt = now()
          s.setMs.push(setAt - t0)
          if (seenAt === undefined) await within(seen, SEEN_DEADLINE_MS, TIMEOUT)
          notify = undefined
          if (seenAt === undefined) {
            s.missed++
            continue
          }
          if (seenAt < setAt) s.seenBeforeSet++
          s.staleness.push(Math.max(0, seenAt - setAt))
        }
      } finally {
        reading = false
        await reader
      }
    }

    // initial value, in B's L1, B's stream cursor taken (its first poll)
    for (const s of stalenessSetups) {
      await s.a.set(s.key, s.next)
      const deadline = now() + 5_000
      while ((await s.b.get(s.key, { disableLoad: true })) !== s.next && now() < deadline) await sleep(5)
    }
    const perRound = Math.ceil(STREAM_WRITES / STREAM_ROUNDS)
    for (let r = 0; r < STREAM_ROUNDS; r++) {
      const order = r % 2 === 0 ? stalenessSetups : [...stalenessSetups].reverse()
      for (const s of order) await stalenessBlock(s, Math.min(perRound, STREAM_WRITES - r * perRound))
      progress(`(2) stream staleness round ${r + 1}/${STREAM_ROUNDS} done`)
    }
    const staleness = stalenessSetups.map((s) => {
      const d = dist(s.staleness)
      const bound = STREAM_POLL_MS + rttDist[s.transport].p50
      const over = s.staleness.filter((x) => x > bound)
      return {
        transport: s.transport,
        pollInterval: STREAM_POLL_MS,
        writes: s.staleness.length + s.missed,
        staleness: d,
        roundTripP50: rttDist[s.transport].p50,
        bound,
        overBound: over.length,
        overBoundBy: over.length === 0 ? 0 : Math.max(...over) - bound,
        seenBeforeSet: s.seenBeforeSet,
        missed: s.missed,
        set: dist(s.setMs),
        readerGap: dist(s.readerGaps),
        bStats: s.b.stats().invalidation,
        samples: s.staleness,
      }
    })

    // ---------------------------------------------------------------- (3) poll cost
    interface CostSide { transport: Transport; polling: TierCache; idle: TierCache }
    const costSides: CostSide[] = []
    for (const transport of ['tcp', 'http'] as const) {
      const key = 'cost-key'
      // separate namespaces: nothing is ever published to them, so polls read nothing
      const polling = make({ namespace: `inv-cost-due-${transport}-${runId}`, l1: lru(), l2: store(transport), invalidation: { transport: 'stream', pollInterval: COST_POLL_MS } })
      const idle = make({ namespace: `inv-cost-idle-${transport}-${runId}`, l1: lru(), l2: store(transport), invalidation: { transport: 'stream', pollInterval: '1h' } })
      for (const cache of [polling, idle]) {
        await cache.set(key, { id: 1, name: 'cost' })
        await cache.get(key) // the first poll (takes the cursor); for `idle` the last for an hour
      }
      costSides.push({ transport, polling, idle })
    }
    // Each iteration pauses past the polling cache's next poll, then times, in rotating order,
    // an L1-hit get on the polling cache (a poll is due), one on the idle cache (none is due)
    // and one raw GET on the same transport (the round trip after the same pause).
    interface CostRound { transport: Transport; dueUs: number; noneUs: number; rawUs: number; multiPoll: number }
    const costRounds: CostRound[] = []
    const costSamples: Record<Transport, { due: number[]; none: number[]; raw: number[]; multiPoll: number[] }> = {
      tcp: { due: [], none: [], raw: [], multiPoll: [] },
      http: { due: [], none: [], raw: [], multiPoll: [] },
    }
    const costRound = async (side: CostSide, round: number, samples: number, record: boolean): Promise<void> => {
      const due: number[] = []
      const none: number[] = []
      const raw: number[] = []
      let multiPoll = 0
      const idlePollsBefore = side.idle.stats().invalidation.polls
      const timeGet = async (cache: TierCache): Promise<number> => {
        const t0 = now()
        const value = await cache.get<{ id: number }>('cost-key')
        const dt = (now() - t0) * 1000
        if (value?.id !== 1) throw new Error(`(3) ${side.transport}: unexpected value ${JSON.stringify(value)}`)
        return dt
      }
      const timeRaw = async (): Promise<number> => {
        const t0 = now()
        if (side.transport === 'tcp') await client.get('rtt')
        else await rawHttp.get('rtt')
        return (now() - t0) * 1000
      }
      for (let i = 0; i < samples; i++) {
        await sleep(COST_POLL_MS + 1) // past the polling cache's next poll
        const pollsBefore = side.polling.stats().invalidation.polls
        let dueUs = 0
        const steps = [
          async () => { dueUs = await timeGet(side.polling) },
          async () => { none.push(await timeGet(side.idle)) },
          async () => { raw.push(await timeRaw()) },
        ]
        for (let k = 0; k < 3; k++) await steps[(i + round + k) % 3]!()
        const polls = side.polling.stats().invalidation.polls - pollsBefore
        if (polls === 1) due.push(dueUs)
        else {
          // the poll took longer than pollInterval and the get polled again: not "one poll"
          multiPoll++
          if (record) costSamples[side.transport].multiPoll.push(dueUs)
        }
      }
      const idlePolls = side.idle.stats().invalidation.polls - idlePollsBefore
      if (idlePolls !== 0) throw new Error(`(3) ${side.transport}: the cache with pollInterval 1h polled ${idlePolls} times`)
      if (!record) return
      costSamples[side.transport].due.push(...due)
      costSamples[side.transport].none.push(...none)
      costSamples[side.transport].raw.push(...raw)
      costRounds.push({ transport: side.transport, dueUs: median(due), noneUs: median(none), rawUs: median(raw), multiPoll })
    }
    for (const side of costSides) await costRound(side, 0, 20, false) // warm-up
    for (let r = 0; r < COST_ROUNDS; r++) {
      const order = r % 2 === 0 ? costSides : [...costSides].reverse()
      for (const side of order) await costRound(side, r, COST_SAMPLES, true)
      progress(`(3) poll cost round ${r + 1}/${COST_ROUNDS} done`)
    }
    const cost = (['tcp', 'http'] as const).map((transport) => {
      const rounds = costRounds.filter((x) => x.transport === transport)
      const all = costSamples[transport]
      const dueUs = median(rounds.map((x) => x.dueUs))
      const noneUs = median(rounds.map((x) => x.noneUs))
      const rawUs = median(rounds.map((x) => x.rawUs))
      return {
        transport,
        pollIntervalDue: COST_POLL_MS,
        dueUs,
        noneUs,
        addedUs: dueUs - noneUs,
        pacedRoundTripUs: rawUs,
        addedPerRoundTrip: (dueUs - noneUs) / rawUs,
        roundTripP50Us: rttDist[transport].p50 * 1000,
        dueP99Us: percentile(all.due, 0.99),
        noneP99Us: percentile(all.none, 0.99),
        pacedRoundTripP99Us: percentile(all.raw, 0.99),
        multiPoll: all.multiPoll.length,
        multiPollMedianUs: median(all.multiPoll),
        samplesPerSide: rounds.length * COST_SAMPLES,
        rounds,
      }
    })

    // ---------------------------------------------------------------- (+) pollInterval shorter than a poll
    // A due poll on an L1 hit is awaited and the get re-run; the next poll is due pollInterval
    // after this one started, so when a poll takes longer than pollInterval the re-run polls
    // again. Each get here is capped; a capped get is ended by closing its cache.
    const storm: { transport: Transport; pollInterval: number; gets: number; capped: number; pollsPerGet: Dist; getMs: Dist }[] = []
    for (const transport of ['tcp', 'http'] as const) {
      const cache = make({ namespace: `inv-storm-${transport}-${runId}`, l1: lru(), l2: store(transport), invalidation: { transport: 'stream', pollInterval: STORM_POLL_MS } })
      await cache.set('k', 1) // in L1; the first get's poll takes the cursor
      const polls: number[] = []
      const times: number[] = []
      let capped = 0
      for (let i = 0; i < STORM_GETS; i++) {
        await sleep(STORM_POLL_MS + 4)
        const before = cache.stats().invalidation.polls
        const t0 = now()
        const getting = cache.get('k', { disableLoad: true })
        getting.catch(() => undefined) // rejects with E_CLOSED if it is still polling at close
        const result = await within(getting, STORM_CAP_MS, TIMEOUT)
        times.push(now() - t0)
        polls.push(cache.stats().invalidation.polls - before)
        if (result === TIMEOUT) {
          capped++
          break // the get is still polling: close the cache to end it
        }
      }
      await cache.close()
      storm.push({ transport, pollInterval: STORM_POLL_MS, gets: times.length, capped, pollsPerGet: dist(polls), getMs: dist(times) })
    }
    progress('(+) pollInterval 1 check done')

    // ---------------------------------------------------------------- report
    const machine = machineRecord(redisVersion, 'spawned redis-server', loadAtStart)

    console.log('\ntiercache invalidation benchmark (loopback; private redis-server; bridge = tiercache-bridge bin in its own process)')
    console.log(`round trip (one GET): tcp p50 ${ms(rttDist.tcp.p50)} p99 ${ms(rttDist.tcp.p99)} | http p50 ${ms(rttDist.http.p50)} p99 ${ms(rttDist.http.p99)}  (${RTT_SAMPLES} each)`)

    console.log(`\n(1) Pub/Sub propagation over TCP: A.set → B's 'invalidation' event (${PUBSUB_WRITES} sequential writes, 1-3 ms apart)`)
    console.log(table([
      ['', 'p50', 'p99', 'max', 'missed'],
      ['A.set start → B event', ms(pubsub.event.p50), ms(pubsub.event.p99), ms(pubsub.event.max), `${pubsub.missed}`],
      ['A.set start → A.set resolved', ms(pubsub.set.p50), ms(pubsub.set.p99), ms(pubsub.set.max), '-'],
    ]))
    console.log(`    event before A.set resolved: ${pubsub.eventBeforeSet}/${pubsub.event.n}; B not holding the key in L1 before a write: ${pubsub.notInL1}; other invalidation events: ${pubsub.unmatched}`)

    console.log(`\n(2) stream-polling staleness: A.set resolved → B first returns the new value (B reads every ~${READ_EVERY_MS} ms; ${STREAM_WRITES} writes per transport; bound = pollInterval + round-trip p50)`)
    console.log(table([
      ['transport', 'pollInterval', 'p50', 'p99', 'max', 'bound', 'over bound', 'missed', 'reader gap p50/max'],
      ...staleness.map((s) => [
        s.transport === 'tcp' ? 'TCP (redis)' : 'HTTP (bridge)',
        `${s.pollInterval} ms`,
        ms(s.staleness.p50),
        ms(s.staleness.p99),
        ms(s.staleness.max),
        ms(s.bound),
        s.overBound === 0 ? '0' : `${s.overBound} (by ≤ ${s.overBoundBy.toFixed(2)} ms)`,
        `${s.missed}`,
        `${s.readerGap.p50.toFixed(2)}/${s.readerGap.max.toFixed(2)} ms`,
      ]),
    ]))
    console.log('    the bound counts one round trip; a write seen through a poll also costs B\'s re-read from L2 (a second round trip) and up to one reader gap')
    for (const s of staleness) {
      if (s.overBound > 0) console.log(`    ${s.transport}: ${s.overBound}/${s.staleness.n} writes over the bound ${ms(s.bound)}: ${s.samples.filter((x) => x > s.bound).map((x) => x.toFixed(2)).join(', ')} ms`)
    }

    console.log(`\n(3) what a due poll adds to an L1-hit get: median over ${COST_ROUNDS} rounds of per-round medians, ${COST_SAMPLES} samples per side per round, each after a ${COST_POLL_MS + 1} ms pause`)
    console.log(`    poll due: pollInterval ${COST_POLL_MS} ms, samples with exactly one poll | none due: pollInterval 1h after its first poll | raw GET: the same transport after the same pause`)
    console.log(table([
      ['transport', 'poll due', 'no poll due', 'added', 'raw GET (paced)', 'added / raw', 'p99 due/none/raw', '>1 poll'],
      ...cost.map((c) => [
        c.transport === 'tcp' ? 'TCP (redis)' : 'HTTP (bridge)',
        us(c.dueUs),
        us(c.noneUs),
        us(c.addedUs),
        us(c.pacedRoundTripUs),
        `${c.addedPerRoundTrip.toFixed(2)}x`,
        `${c.dueP99Us.toFixed(0)}/${c.noneP99Us.toFixed(1)}/${c.pacedRoundTripP99Us.toFixed(0)} µs`,
        c.multiPoll === 0 ? '0' : `${c.multiPoll} (median ${c.multiPollMedianUs.toFixed(0)} µs)`,
      ]),
    ]))

    console.log(`\n(+) L1-hit get with pollInterval ${STORM_POLL_MS} ms (shorter than a poll may take); up to ${STORM_GETS} gets, each capped at ${STORM_CAP_MS} ms`)
    console.log(table([
      ['transport', 'gets', 'capped', 'polls/get p50', 'polls/get max', 'get p50', 'get max'],
      ...storm.map((s) => [s.transport, `${s.gets}`, `${s.capped}`, `${s.pollsPerGet.p50}`, `${s.pollsPerGet.max}`, ms(s.getMs.p50), ms(s.getMs.max)]),
    ]))

    const wall = (Date.now() - wallStart) / 1000
    console.log(`\nmachine: node ${machine.node} | ${machine.cpu} x${machine.cores} | redis ${machine.redis} (${machine.redisSource}) | load ${machine.loadavg.start[0]}→${machine.loadavg.end[0]} | ${machine.date} | wall ${wall.toFixed(1)} s`)

    const outDir = join(dirname(fileURLToPath(import.meta.url)), 'results')
    mkdirSync(outDir, { recursive: true })
    writeFileSync(
      join(outDir, 'invalidation-latest.json'),
      `${JSON.stringify({
        machine,
        wallSeconds: wall,
        config: {
          pubsubWrites: PUBSUB_WRITES, pubsubWarmup: PUBSUB_WARMUP, streamPollMs: STREAM_POLL_MS, streamWrites: STREAM_WRITES, streamRounds: STREAM_ROUNDS,
          readEveryMs: READ_EVERY_MS, costPollMs: COST_POLL_MS, costRounds: COST_ROUNDS, costSamples: COST_SAMPLES, rttSamples: RTT_SAMPLES,
          stormPollMs: STORM_POLL_MS, stormGets: STORM_GETS, stormCapMs: STORM_CAP_MS,
        },
        units: { pubsub: 'ms', staleness: 'ms', roundTrip: 'ms', cost: 'µs', storm: 'ms' },
        roundTrip: rttDist,
        pubsub,
        staleness,
        cost,
        storm,
      }, null, 2)}\n`,
    )
  } finally {
    clearTimeout(watchdog)
    await closeAll()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
