/**
 * Fault tests against a redis-server each test owns (killed, stalled, restarted), on
 * loopback, bounded in time. The figures they measure are printed for the record.
 */
import { createClient } from 'redis'
import { afterEach, describe, expect, it } from 'vitest'
import { createCache, type CacheEvent, type TierCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { redis } from '../../adapters/redis.js'
import { sleep, uniqueName } from '../support/helpers.js'
import { startRedisServer, type RedisServer } from '../support/redis-server.js'

const cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined)
})

async function ownServer(): Promise<RedisServer> {
  const server = await startRedisServer(['--enable-debug-command', 'yes'])
  cleanup.push(() => server.stop())
  return server
}

async function rawClient(url: string) {
  const client = createClient({ url })
  client.on('error', () => undefined)
  await client.connect()
  cleanup.push(() => (client.isOpen ? client.close() : Promise.resolve()))
  return client
}

function cacheOn(url: string, options: Record<string, unknown> = {}): { cache: TierCache; events: CacheEvent[] } {
  const events: CacheEvent[] = []
  const cache = createCache({
    namespace: uniqueName('fault'),
    l1: lru(),
    l2: redis({ url, connectTimeout: 200 }),
    l2Timeout: 150,
    onEvent: (e) => events.push(e),
    ...options,
  })
  cleanup.push(() => cache.close())
  return { cache, events }
}

const report = (name: string, figures: Record<string, unknown>): void => {
  console.log(`[fault] ${name}: ${JSON.stringify(figures)}`)
}

describe('faults against a real redis-server', () => {
  it('Redis SIGKILLed under sustained mixed load, then restarted: no errors reach callers, latency stays bounded, writes land again', async () => {
    const server = await ownServer()
    const { cache } = cacheOn(server.url, { circuitBreaker: { failures: 5, cooldown: '300ms' } })
    const raw = await rawClient(server.url)
    const started = Date.now()
    const killAt = 600
    const restartAt = 1400
    const endAt = 2600
    let errors = 0
    let ops = 0
    let maxLatencyWhileDown = 0
    let maxLatency = 0
    let down = false
    const lastWrites = new Map<string, number>()

    const worker = async (id: number): Promise<void> => {
      let n = 0
      while (Date.now() - started < endAt) {
        const key = `k${(id * 7 + n++) % 50}`
        const t0 = performance.now()
        try {
          if (n % 3 === 0) {
            const value = Date.now()
            await cache.set(key, value)
            lastWrites.set(key, value)
          } else {
            await cache.getOrLoad(key, async () => Date.now())
          }
        } catch {
          errors++
        }
        const latency = performance.now() - t0
        ops++
        maxLatency = Math.max(maxLatency, latency)
        if (down) maxLatencyWhileDown = Math.max(maxLatencyWhileDown, latency)
        await sleep(2)
      }
    }
    const load = Promise.all(Array.from({ length: 8 }, (_, i) => worker(i)))
    await sleep(killAt)
    await server.stop() // SIGKILL
    down = true
    await sleep(restartAt - killAt)
    await server.start()
    const restartedAt = Date.now()
    down = false
    // recovery: the first write after the restart that is visible in Redis
    let recoveredMs = -1
    while (Date.now() - restartedAt < 5000) {
      await cache.set('probe', restartedAt)
      if (!raw.isReady) await sleep(50)
      const stored = raw.isReady ? await raw.get(`tiercache:${cache.namespace}:probe`).catch(() => null) : null
      if (stored !== null) {
        recoveredMs = Date.now() - restartedAt
        break
      }
      await sleep(25)
    }
    await load
    const stats = cache.stats()
    report('SIGKILL under load', { ops, errorsSurfaced: errors, maxLatencyMs: Math.round(maxLatency), maxLatencyWhileDownMs: Math.round(maxLatencyWhileDown), recoveryMs: recoveredMs, l2Errors: stats.l2Errors, l2Timeouts: stats.l2Timeouts, l2Skipped: stats.l2Skipped, circuitOpened: stats.tiers.l2!.circuitOpened })
    expect(errors).toBe(0)
    expect(ops).toBeGreaterThan(100)
    expect(maxLatencyWhileDown).toBeLessThan(1000) // bounded by l2Timeout (150 ms) and connectTimeout (200 ms), with slack for a loaded machine
    expect(recoveredMs).toBeGreaterThanOrEqual(0)
    expect(stats.l2Errors).toBeGreaterThan(0)
    // writes made after the restart are in Redis
    const after = Date.now()
    await cache.set('after-restart', after)
    expect(await raw.get(`tiercache:${cache.namespace}:after-restart`)).toMatch(/^tc1\|/)
  })

  it('Redis stalled by DEBUG SLEEP: calls return within the L2 timeout, the breaker opens, then closes', async () => {
    const server = await ownServer()
    const { cache, events } = cacheOn(server.url, { circuitBreaker: { failures: 3, cooldown: '200ms' } })
    const raw = await rawClient(server.url)
    const other = await rawClient(server.url)
    await cache.set('k', 'before')
    await cache.delete('k') // clear L1 so reads go to Redis
    await raw.set(`tiercache:${cache.namespace}:seed`, 'x')

    const stall = other.sendCommand(['DEBUG', 'SLEEP', '1.2']).catch(() => undefined)
    await sleep(50)
    const latencies: number[] = []
    for (let i = 0; i < 8; i++) {
      const t0 = performance.now()
      expect(await cache.getOrLoad(`s${i}`, async () => `loaded${i}`)).toBe(`loaded${i}`)
      latencies.push(performance.now() - t0)
    }
    const opened = cache.stats().tiers.l2!.circuit
    await stall
    // after the cool-down, one probe closes the circuit
    let closedAfter = -1
    const t0 = Date.now()
    while (Date.now() - t0 < 3000) {
      await cache.get(`probe${Date.now()}`, { disableLoad: true })
      if (cache.stats().tiers.l2!.circuit === 'closed') {
        closedAfter = Date.now() - t0
        break
      }
      await sleep(50)
    }
    const stats = cache.stats()
    report('DEBUG SLEEP 1.2 s', { latenciesMs: latencies.map(Math.round), circuitAfterStall: opened, closedAfterMs: closedAfter, l2Timeouts: stats.l2Timeouts, l2Skipped: stats.l2Skipped })
    expect(Math.max(...latencies)).toBeLessThan(900) // l2Timeout 150 ms per read (+ write), with slack for a loaded machine; skipped calls are immediate
    expect(opened).toBe('open')
    expect(stats.l2Timeouts).toBeGreaterThanOrEqual(3)
    expect(stats.l2Skipped).toBeGreaterThan(0)
    expect(closedAfter).toBeGreaterThanOrEqual(0)
    const states = events.filter((e): e is Extract<CacheEvent, { type: 'circuit' }> => e.type === 'circuit').map((e) => e.state)
    expect(states).toEqual(expect.arrayContaining(['open', 'half-open', 'closed']))
    expect(states.indexOf('open')).toBeLessThan(states.lastIndexOf('closed'))
    await cache.set('after', 1)
    expect(await raw.get(`tiercache:${cache.namespace}:after`)).toMatch(/^tc1\|/)
  })

  it('connection killed with CLIENT KILL: the client reconnects and no call hangs', async () => {
    const server = await ownServer()
    const { cache } = cacheOn(server.url)
    const raw = await rawClient(server.url)
    await cache.set('k', 'v')
    const killed = Number(await raw.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']))
    expect(killed).toBeGreaterThanOrEqual(1)
    const latencies: number[] = []
    let recoveredAfter = -1
    const t0 = Date.now()
    for (let i = 0; i < 40; i++) {
      const s = performance.now()
      await cache.set(`w${i}`, i)
      latencies.push(performance.now() - s)
      if (recoveredAfter < 0 && (await raw.get(`tiercache:${cache.namespace}:w${i}`)) !== null) recoveredAfter = Date.now() - t0
      if (recoveredAfter >= 0 && i > 5) break
      await sleep(25)
    }
    report('CLIENT KILL', { maxLatencyMs: Math.round(Math.max(...latencies)), recoveredAfterMs: recoveredAfter, l2Errors: cache.stats().l2Errors })
    expect(Math.max(...latencies)).toBeLessThan(1000)
    expect(recoveredAfter).toBeGreaterThanOrEqual(0)
  })

  it('corrupted and foreign payloads under the cache keys: counted misses, values reloaded', async () => {
    const server = await ownServer()
    const { cache } = cacheOn(server.url)
    const raw = await rawClient(server.url)
    const junk = ['garbage', '\u0000\u0001', 'tc1|1|2|3|0|j1', `tc1|${Date.now() + 60_000}|${Date.now() + 60_000}|60000|0|t{"$t":"??"}`]
    for (const [i, payload] of junk.entries()) await raw.set(`tiercache:${cache.namespace}:j${i}`, payload)
    for (let i = 0; i < junk.length; i++) expect(await cache.getOrLoad(`j${i}`, async () => `fresh${i}`)).toBe(`fresh${i}`)
    expect(cache.stats().corrupt).toBe(junk.length - 1) // 'tc1|1|2|3|0|j1' is a well-formed envelope that expired long ago
    for (let i = 0; i < junk.length; i++) expect(await raw.get(`tiercache:${cache.namespace}:j${i}`)).toMatch(/^tc1\|\d+/)
  })
})
