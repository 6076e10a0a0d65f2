import { createServer } from 'node:net'
import { describe, expect, inject, it } from 'vitest'
import { createCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { memoryStore } from '../../adapters/memory.js'
import { redis } from '../../adapters/redis.js'
import { upstash } from '../../adapters/upstash.js'
import { eventLogger, redactSecrets, type L2Store, type LogRecord } from '../../src/index.js'
import { testRedis, trackCaches, uniqueName } from '../support/helpers.js'

const track = trackCaches()

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('diagnostics()', () => {
  it('shows the resolved config, tiers, loader and invalidation of an in-process cache', async () => {
    const cache = track(createCache({
      namespace: uniqueName('diag'),
      prefix: 'app',
      l1: lru({ max: 100, ttl: '1m' }),
      l2: memoryStore(),
      ttl: '10m',
      grace: '1h',
      refreshAhead: 0.2,
      loaderTimeout: { soft: '50ms', hard: '2s' },
      circuitBreaker: { failures: 3, cooldown: '5s' },
      invalidation: { transport: 'stream', pollInterval: '2s' },
      loader: async (key) => key,
    }))
    await cache.set('k', 1)
    const d = cache.diagnostics()
    expect(d).toMatchObject({
      namespace: cache.namespace,
      prefix: 'app',
      closed: false,
      loader: true,
      instrumented: false,
      config: {
        ttl: 600_000, nullTtl: 30_000, grace: 3_600_000, jitter: 0.1, staleWhileRevalidate: true, refreshAhead: 0.2, staleOnError: true,
        loaderTimeout: { soft: 50, hard: 2000 }, l2Timeout: 1000, circuitBreaker: { failures: 3, cooldown: 5000 }, lock: false,
        maxKeyLength: 1024, serializer: 'default', clock: 'coarse', onEvent: false, waitUntil: false,
      },
      tiers: [
        { label: 'l1', kind: 'l1', store: 'lru', ready: true, entries: 1, maxTtl: 60_000 },
        { label: 'l2', kind: 'l2', store: 'memory', ready: true, circuit: 'closed', ttlScale: 1, promote: true },
      ],
      invalidation: {
        configured: 'stream', transport: 'stream', listens: true, listening: false,
        stream: `app:${cache.namespace}|inval`, channel: `app:${cache.namespace}|inval`, pollInterval: 2000, streamMaxLen: 10_000, unsent: 0,
      },
      inflight: { flights: 0, loads: 0 },
    })
    expect(JSON.stringify(d)).not.toContain('"k"')
  })

  it('over real Redis: the Pub/Sub listener, its channel and stream, the cursor, and a ready L2', async () => {
    const cache = track(createCache({ namespace: uniqueName('diag'), l1: lru(), l2: testRedis() }))
    await cache.ready()
    await cache.get('warm') // one successful L2 call
    const d = cache.diagnostics()
    expect(d.tiers[1]).toMatchObject({ label: 'l2', store: 'redis', ready: true, circuit: 'closed', endpoint: inject('redisUrl') })
    expect(d.invalidation).toMatchObject({
      configured: 'auto', transport: 'pubsub', listens: true, listening: true, cursorLagMs: 0,
      stream: `tiercache:${cache.namespace}|inval`, channel: `tiercache:${cache.namespace}|inval`,
    })
    expect(d.invalidation.cursor).toMatch(/^\d+-\d+$/)
  })

  it('shows an unreachable Redis as not ready, with its circuit open', async () => {
    const port = await closedPort()
    const cache = track(createCache({
      namespace: uniqueName('diag'), l1: lru(), l2: redis({ url: `redis://127.0.0.1:${port}`, connectTimeout: 200 }),
      circuitBreaker: { failures: 1, cooldown: '1m' }, invalidation: false,
    }))
    expect(await cache.get('k')).toBeUndefined()
    const tier = cache.diagnostics().tiers[1]!
    expect(tier).toMatchObject({ label: 'l2', ready: false, circuit: 'open' })
  })

  it('never holds passwords, tokens, values or keys', async () => {
    const port = await closedPort()
    const overTcp = track(createCache({
      namespace: uniqueName('diag'), l1: lru(), l2: redis({ url: `redis://admin:hunter2-secret@127.0.0.1:${port}/0`, connectTimeout: 100 }),
      invalidation: false,
    }))
    const overHttp = track(createCache({
      namespace: uniqueName('diag'), l1: lru(),
      l2: upstash({ url: `http://127.0.0.1:${port}/?token=query-secret`, token: 'tok-secret-123', retries: 0 }), invalidation: false,
    }))
    for (const cache of [overTcp, overHttp]) {
      await cache.set('user:42', { email: 'value-secret@example.com' })
      const text = JSON.stringify(cache.diagnostics())
      expect(text).toContain(`127.0.0.1:${port}`)
      for (const secret of ['hunter2-secret', 'tok-secret-123', 'query-secret', 'value-secret', 'user:42']) expect(text).not.toContain(secret)
    }
    expect(overTcp.diagnostics().tiers[1]!.endpoint).toBe(`redis://***@127.0.0.1:${port}/0`)
  })

  it('redactSecrets removes URL credentials, secret query parameters and bearer tokens', () => {
    expect(redactSecrets('connect redis://user:pa55@db:6379/1 failed')).toBe('connect redis://***@db:6379/1 failed')
    expect(redactSecrets('rediss://:pw@host')).toBe('rediss://***@host')
    expect(redactSecrets('https://x.upstash.io/?token=abc&x=1')).toBe('https://x.upstash.io/?token=***&x=1')
    expect(redactSecrets('Authorization: Bearer eyJ.abc-def')).toBe('Authorization: Bearer ***')
    expect(redactSecrets('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080')
  })
})

describe('eventLogger()', () => {
  /** A store whose errors name the URL it could not reach and the key (as drivers' messages may). */
  const failing = (message: string): L2Store => ({
    kind: 'l2',
    name: 'flaky',
    get: async (key) => {
      throw new Error(`${message} for ${key.split(':').slice(-2).join(':')}`)
    },
    set: async (key) => {
      throw new Error(`${message} for ${key.split(':').slice(-2).join(':')}`)
    },
    delete: async () => undefined,
    clear: async () => 0,
  })

  it('logs failures without values, secrets or keys; keys only when asked', async () => {
    const records: LogRecord[] = []
    const cache = track(createCache({
      namespace: uniqueName('log'), l1: lru(), l2: failing('connect to redis://u:pw-secret@db:6379 failed'), invalidation: false,
      onEvent: eventLogger({ log: (r) => records.push(r) }),
    }))
    await cache.set('user:7', 'value-secret-1')
    expect(await cache.get('user:7')).toBe('value-secret-1') // L1 hit: not logged
    await expect(cache.getOrLoad('user:8', async () => {
      throw new Error('row value-secret-2 is broken')
    })).rejects.toThrow()
    const text = JSON.stringify(records)
    for (const secret of ['pw-secret', 'value-secret', 'user:7', 'user:8']) expect(text).not.toContain(secret)
    const l2 = records.find((r) => r.event === 'l2:error')!
    expect(l2).toMatchObject({ level: 'warn', namespace: cache.namespace, tier: 'l2', operation: 'set', keyCount: 1 })
    expect(l2.error).toMatchObject({ name: 'L2Error', code: 'E_L2' })
    expect((l2.error as { message: string }).message).toContain('redis://***@db:6379')
    expect(records.find((r) => r.event === 'load:error')).toMatchObject({ level: 'error', keyCount: 1, error: { name: 'Error' } })
    expect(records.some((r) => r.event === 'hit' || r.event === 'miss' || r.event === 'load')).toBe(false)
  })

  it('with keys: true, names the keys (never the values)', async () => {
    const records: LogRecord[] = []
    const cache = track(createCache({
      namespace: uniqueName('log'), l1: lru(), l2: failing('down'), invalidation: false,
      onEvent: eventLogger({ log: (r) => records.push(r), keys: true, types: ['l2:error', 'hit', 'miss'] }),
    }))
    await cache.set('user:7', 'value-secret-1')
    await cache.get('user:7')
    const text = JSON.stringify(records)
    expect(text).toContain('user:7')
    expect(text).not.toContain('value-secret')
    expect(records.map((r) => r.event)).toEqual(['l2:error', 'hit'])
  })
})
