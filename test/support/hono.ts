/**
 * Helpers for the `cacheRoute` tests (test/integration/hono-*.test.ts): route caches on each
 * L2 backend, and a compact view of a response.
 */
import { createCache, type CacheOptions, type TierCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { memoryStore } from '../../adapters/memory.js'
import type { L2Store } from '../../src/index.js'
import { Hono, type Context } from 'hono'
import { cacheRoute, type CacheRouteOptions } from '../../adapters/hono/index.js'
import { fakeClock, testRedis, uniqueName } from './helpers.js'

export type Track = <C extends { clear(): Promise<void>; close(): Promise<void> }>(cache: C) => C

/** The L2 backends every route-cache behaviour runs against. */
export const BACKENDS = ['memoryStore', 'redis'] as const
export type Backend = (typeof BACKENDS)[number]

/**
 * Opens route caches on one backend, all on one namespace (so they are instances of one
 * cache, like separate processes): memoryStore instances share one store, redis ones each
 * have their own connection. A fake clock drives freshness; jitter is off.
 */
export function routeCaches(backend: Backend, track: Track, options: Partial<CacheOptions> = {}) {
  const clock = fakeClock()
  const namespace = uniqueName('route')
  const shared = memoryStore({ clock })
  const store = (): L2Store => (backend === 'memoryStore' ? shared : testRedis())
  const open = (extra: Partial<CacheOptions> = {}): TierCache =>
    track(createCache({ namespace, l1: lru(), l2: store(), clock, jitter: 0, ttl: '1h', ...options, ...extra }))
  return { clock, namespace, open }
}

/**
 * An app with one route, `GET /r`, behind cacheRoute on a route cache of `backend`; the handler
 * gets the number of its call (1, 2, …), and `calls.n` counts them.
 */
export function oneRouteApp(
  backend: Backend,
  track: Track,
  handler: (c: Context, n: number) => Response | Promise<Response>,
  options: Partial<CacheRouteOptions> = {},
) {
  const { open, clock } = routeCaches(backend, track)
  const cache = open()
  const calls = { n: 0 }
  const app = new Hono()
  app.use('*', cacheRoute({ cache, clock, ...options }))
  app.get('/r', (c) => handler(c, ++calls.n))
  return { app, calls, cache, clock, open }
}

/** What the tests look at in a response. */
export interface Seen {
  status: number
  cache: string | null
  age: string | null
  timing: string | null
  etag: string | null
  headers: Headers
  text: string
}

/** Reads a response completely. */
export async function seen(response: Response | Promise<Response>): Promise<Seen> {
  const res = await response
  const text = await res.text()
  return {
    status: res.status,
    cache: res.headers.get('x-cache'),
    age: res.headers.get('age'),
    timing: res.headers.get('server-timing'),
    etag: res.headers.get('etag'),
    headers: res.headers,
    text,
  }
}

/** The tier named in `Server-Timing: cache;desc="…"`. */
export function tierOf(timing: string | null): string | undefined {
  return /cache;desc="([^"]*)"/.exec(timing ?? '')?.[1]
}

/** A promise with its resolver, to hold a handler until the test lets it go. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}
