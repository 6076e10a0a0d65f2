import { afterEach, inject } from 'vitest'
import type { Clock, L2Store } from '../../src/index.js'
import { redis, type RedisStore } from '../../adapters/redis.js'

/** A namespace no other test uses, so tests share a Redis without touching each other's keys. */
export function uniqueName(label = 't'): string {
  return `${label}-${Math.random().toString(36).slice(2, 10)}`
}

/** A redis() store against the test Redis (REDIS_URL or the private server). */
export function testRedis(): RedisStore {
  return redis({ url: inject('redisUrl') })
}

/** A clock tests move by hand. */
export function fakeClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void; set(ms: number): void } {
  let now = start
  return {
    now: () => now,
    advance: (ms) => {
      now += ms
    },
    set: (ms) => {
      now = ms
    },
  }
}

export interface Counts {
  get: number
  mget: number
  set: number
  mset: number
  delete: number
  clear: number
}

/**
 * Wraps a real store and counts the calls the engine makes on it (the store still does the
 * real work against real Redis; nothing is faked).
 */
export function counting<S extends L2Store>(store: S): { store: L2Store; counts: Counts } {
  const counts: Counts = { get: 0, mget: 0, set: 0, mset: 0, delete: 0, clear: 0 }
  const wrapped: L2Store = {
    kind: 'l2',
    name: store.name,
    get: (key) => (counts.get++, store.get(key)),
    mget: (keys) => (counts.mget++, store.mget!(keys)),
    set: (key, value, ttl) => (counts.set++, store.set(key, value, ttl)),
    mset: (writes) => (counts.mset++, store.mset!(writes)),
    delete: (keys) => (counts.delete++, store.delete(keys)),
    clear: (prefix) => (counts.clear++, store.clear(prefix)),
    close: () => store.close?.() ?? Promise.resolve(),
  }
  return { store: wrapped, counts }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Registers an afterEach that clears and closes every cache passed to the returned `track`,
 * so each test leaves no keys behind in the shared Redis.
 */
export function trackCaches(): <C extends { clear(): Promise<void>; close(): Promise<void> }>(cache: C) => C {
  const open: { clear(): Promise<void>; close(): Promise<void> }[] = []
  afterEach(async () => {
    for (const cache of open.splice(0)) {
      await cache.clear().catch(() => undefined)
      await cache.close()
    }
  })
  return (cache) => (open.push(cache), cache)
}

/** Reads `key` (without loading) until it equals `expected` or `bound` ms pass; returns the last value. */
export async function readUntil(
  cache: { get(key: string, options?: { disableLoad?: boolean }): Promise<unknown> },
  key: string,
  expected: unknown,
  bound: number,
): Promise<unknown> {
  const deadline = Date.now() + bound
  let value: unknown
  do {
    value = await cache.get(key, { disableLoad: true })
    if (JSON.stringify(value) === JSON.stringify(expected)) return value
    await sleep(5)
  } while (Date.now() < deadline)
  return value
}
