import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { redis } from '../../adapters/redis.js'
import { upstash } from '../../adapters/upstash.js'
import type { L2Store } from '../../src/index.js'
import { startBridge, type RunningBridge } from '../support/bridge.js'
import { sleep, trackCaches, uniqueName } from '../support/helpers.js'
import { startRedisServer, type RedisServer } from '../support/redis-server.js'

const track = trackCaches()
let server: RedisServer
let bridge: RunningBridge
let raw: ReturnType<typeof createClient>
beforeAll(async () => {
  server = await startRedisServer() // our own: INFO commandstats counts only this file's traffic
  bridge = await startBridge(server.url)
  raw = createClient({ url: server.url })
  await raw.connect()
})
afterAll(async () => {
  await raw.close()
  await bridge.close()
  await server.stop()
})

async function commandCalls(): Promise<Record<string, number>> {
  const info = await raw.info('commandstats')
  const calls: Record<string, number> = {}
  for (const match of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) calls[match[1]!] = Number(match[2])
  return calls
}
const delta = (after: Record<string, number>, before: Record<string, number>, command: string): number => (after[command] ?? 0) - (before[command] ?? 0)

describe('coalescing single gets', () => {
  it('64 concurrent gets of L2-only keys are one MGET over TCP', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l1: false, l2: redis({ url: server.url }), invalidation: false }))
    const keys = Array.from({ length: 64 }, (_, i) => `k${i}`)
    await cache.mset(keys.map((key, i) => [key, i] as const))
    const before = await commandCalls()
    const values = await Promise.all(keys.map((key) => cache.get(key)))
    const after = await commandCalls()
    expect(values).toEqual(keys.map((_, i) => i))
    expect(delta(after, before, 'mget')).toBe(1)
    expect(delta(after, before, 'get')).toBe(0)
    expect(cache.stats()).toMatchObject({ coalescedReads: 63, requests: 64, tiers: { l2: { hits: 64 } } })
  })

  it('64 concurrent gets are one request over HTTP', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l1: false, l2: upstash({ url: bridge.url, token: bridge.token }), invalidation: false }))
    const keys = Array.from({ length: 64 }, (_, i) => `h${i}`)
    await cache.mset(keys.map((key, i) => [key, i] as const))
    const count = (): number => [...bridge.requests.values()].reduce((a, b) => a + b, 0)
    const before = count()
    expect(await Promise.all(keys.map((key) => cache.get(key)))).toEqual(keys.map((_, i) => i))
    expect(count() - before).toBe(1)
  })

  it('a 1000-caller stampede on one cold key sends 1 GET and 1 SET to Redis', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l1: lru(), l2: redis({ url: server.url }), invalidation: false }))
    let calls = 0
    const before = await commandCalls()
    await Promise.all(Array.from({ length: 1000 }, () => cache.getOrLoad('cold', async () => {
      calls++
      await sleep(20)
      return 'v'
    })))
    const after = await commandCalls()
    expect(calls).toBe(1)
    expect(delta(after, before, 'get') + delta(after, before, 'mget')).toBe(1)
    expect(delta(after, before, 'set')).toBe(1)
  })
})

describe('cross-instance single-flight (lock)', () => {
  const stores: [string, () => L2Store][] = [
    ['TCP', () => redis({ url: server.url })],
    ['HTTP', () => upstash({ url: bridge.url, token: bridge.token })],
  ]
  it.each(stores)('8 instances × 100 concurrent callers on one cold key: exactly 1 loader call (%s)', async (_name, store) => {
    const namespace = uniqueName('lock')
    let calls = 0
    const caches = Array.from({ length: 8 }, () => track(createCache({ namespace, l1: lru(), l2: store(), lock: { lease: '5s' }, invalidation: false })))
    const loader = async () => {
      calls++
      await sleep(50)
      return 'the one value'
    }
    const values = await Promise.all(caches.flatMap((cache) => Array.from({ length: 100 }, () => cache.getOrLoad('cold', loader))))
    expect(calls).toBe(1)
    expect(new Set(values)).toEqual(new Set(['the one value']))
    const locks = caches.map((cache) => cache.stats().locks)
    expect(locks.reduce((sum, l) => sum + l.acquired, 0)).toBe(1)
    expect(locks.reduce((sum, l) => sum + l.peerHits, 0)).toBe(7)
    expect(await raw.exists(`tiercache:${namespace}|lock:cold`)).toBe(0) // released
  })

  it('8 processes × 100 concurrent callers on one cold key: exactly 1 loader call', async () => {
    const namespace = uniqueName('lockp')
    const counter = `${namespace}:loader-calls`
    const startAt = Date.now() + 2500
    const script = join(import.meta.dirname, '..', 'support', 'stampede-process.ts')
    const results = await Promise.all(Array.from({ length: 8 }, () => runProcess(script, {
      REDIS_URL: server.url, NAMESPACE: namespace, KEY: 'cold', COUNTER_KEY: counter, LOADING_KEY: `${namespace}:loading`, START_AT: String(startAt), CALLERS: '100', LOADER_MS: '20',
    })))
    expect(Number(await raw.get(counter))).toBe(1)
    const distinct = new Set(results.flatMap((r) => r.distinct))
    expect(distinct.size).toBe(1)
    expect(results.reduce((sum, r) => sum + r.loads, 0)).toBe(1)
  }, 60_000)

  it('a holder killed mid-load delays the others by at most one lease', async () => {
    const namespace = uniqueName('lockk')
    const loading = `${namespace}:loading`
    const script = join(import.meta.dirname, '..', 'support', 'stampede-process.ts')
    const holder = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, REDIS_URL: server.url, NAMESPACE: namespace, KEY: 'cold', COUNTER_KEY: `${namespace}:calls`, LOADING_KEY: loading, START_AT: '0', CALLERS: '1', LOADER_MS: '60000', LEASE_MS: '1000' },
      stdio: 'ignore',
    })
    const deadline = Date.now() + 15_000
    while ((await raw.get(loading)) === null && Date.now() < deadline) await sleep(20)
    expect(await raw.get(loading)).not.toBeNull() // the holder took the lock and is loading
    holder.kill('SIGKILL')
    const killedAt = Date.now()
    const cache = track(createCache({ namespace, l1: lru(), l2: redis({ url: server.url }), lock: { lease: 1000 }, invalidation: false }))
    let loadedAt = 0
    const value = await cache.getOrLoad('cold', async () => {
      loadedAt = Date.now()
      return 'taken over'
    })
    expect(value).toBe('taken over')
    const waited = loadedAt - killedAt
    console.log(`[lock] holder killed: took over after ${waited} ms (lease 1000 ms)`)
    expect(waited).toBeLessThanOrEqual(1000 + 250) // one lease, plus the last backoff step
    expect(cache.stats().locks.waits).toBeGreaterThan(0)
  }, 30_000)
})

/** Runs a stampede process to its end and returns its result line. */
function runProcess(script: string, env: Record<string, string>): Promise<{ distinct: string[]; loads: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('result '))
      if (code !== 0 || line === undefined) reject(new Error(`stampede process exited ${code}: ${out}`))
      else resolve(JSON.parse(line.slice('result '.length)) as { distinct: string[]; loads: number })
    })
  })
}
