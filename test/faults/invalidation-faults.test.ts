/**
 * Invalidation under faults, against a redis-server each test owns: a killed subscriber
 * connection loses nothing; a cursor that fell off the trimmed stream flushes the L1.
 */
import { createClient } from 'redis'
import { afterEach, describe, expect, it } from 'vitest'
import { createCache, type TierCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { redis } from '../../adapters/redis.js'
import type { Clock } from '../../src/index.js'
import { fakeClock, sleep, uniqueName } from '../support/helpers.js'
import { startRedisServer } from '../support/redis-server.js'

const cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined)
})

async function setup(transport: 'pubsub' | 'stream', options: { pollInterval?: number; streamMaxLen?: number; readerClock?: Clock } = {}) {
  const server = await startRedisServer()
  cleanup.push(() => server.stop())
  const raw = createClient({ url: server.url })
  raw.on('error', () => undefined)
  await raw.connect()
  cleanup.push(() => raw.close())
  const namespace = uniqueName('invf')
  const make = (sync: typeof transport, clock?: Clock): TierCache => {
    const cache = createCache({
      ...(clock ? { clock } : {}),
      namespace,
      l1: lru(),
      l2: redis({ url: server.url, connectTimeout: 300 }),
      ttl: '1h',
      l2Timeout: 300,
      invalidation: { transport: sync, pollInterval: options.pollInterval ?? 50, streamMaxLen: options.streamMaxLen ?? 10_000 },
    })
    cleanup.push(() => cache.close())
    return cache
  }
  return { server, raw, writer: make('pubsub'), reader: make(transport, options.readerClock) }
}

describe('invalidation faults', () => {
  it('the subscriber connection is killed (CLIENT KILL TYPE pubsub) during a stream of writes: zero invalidations lost', async () => {
    const { raw, writer, reader } = await setup('pubsub')
    await Promise.all([writer.ready(), reader.ready()])
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`)
    await writer.mset(keys.map((key) => [key, 0] as const))
    for (const key of keys) expect(await reader.get(key)).toBe(0) // every key now in the reader's L1

    let kills = 0
    for (let round = 1; round <= 5; round++) {
      for (const [i, key] of keys.entries()) {
        await writer.set(key, round)
        if (i === 10 || i === 30) kills += Number(await raw.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']))
      }
    }
    expect(kills).toBeGreaterThanOrEqual(5) // the reader's (and the writer's) subscriber connections, repeatedly
    // after the catch-up, every key in the reader's L1 is the last value written
    const deadline = Date.now() + 3000
    let stale = keys
    while (stale.length > 0 && Date.now() < deadline) {
      stale = []
      for (const key of keys) if ((await reader.get(key, { disableLoad: true })) !== 5) stale.push(key)
      if (stale.length > 0) await sleep(50)
    }
    const stats = reader.stats().invalidation
    console.log(`[fault] CLIENT KILL TYPE pubsub: ${JSON.stringify({ kills, received: stats.received, subscriptions: stats.subscriptions, flushes: stats.flushes, staleKeys: stale.length })}`)
    expect(stale).toEqual([])
    expect(stats.flushes).toBe(0) // caught up from the stream, not by flushing
    expect(stats.subscriptions).toBeGreaterThan(1) // it re-subscribed
  })

  it('a cursor that fell off the trimmed stream flushes the whole L1, and that is counted', async () => {
    const clock = fakeClock(Date.now())
    const { writer, reader } = await setup('stream', { pollInterval: 60_000, streamMaxLen: 10, readerClock: clock })
    await reader.get('warm', { disableLoad: true }) // takes its cursor
    await writer.mset([['a', 1], ['b', 2]])
    expect(await reader.get('a')).toBe(1)
    expect(await reader.get('b')).toBe(2)
    // far more messages than MAXLEN ~ 10 keeps (Redis trims whole stream nodes of 100 entries)
    for (let i = 0; i < 350; i++) await writer.set(`other${i}`, i)
    await writer.set('b', 'changed')
    expect(await reader.get('a')).toBe(1) // no poll due yet: L1 answers
    clock.advance(60_001) // the next request polls
    expect(await reader.get('a')).toBe(1) // re-read from L2 after the flush (a did not change)
    const stats = reader.stats().invalidation
    expect(stats.flushes).toBe(1)
    expect(await reader.get('b')).toBe('changed')
    expect(reader.stats().tiers.l2!.hits).toBeGreaterThanOrEqual(2) // both came back from L2
    console.log(`[fault] trimmed stream: ${JSON.stringify({ flushes: stats.flushes, polls: stats.polls })}`)
  })
})
