/**
 * The runtime suite in workerd. One request runs the whole suite for one transport:
 * - `GET /suite?transport=http`: caches from `createCache` of the package name `tiercache`
 *   (the `workerd` export condition), whose L2 comes from the Worker's bindings: Redis over
 *   HTTP through the REST bridge. Then the Workers-only cases below.
 * - `GET /suite?transport=tcp`: caches with `redis({ url: env.REDIS_URL })` (node-redis under
 *   nodejs_compat), opened and closed within this one request, as Workers require.
 *   Both give the suite this request's ExecutionContext, which its Hono apps get as
 *   `c.executionCtx` (cacheRoute hands background refreshes to its waitUntil).
 * - `GET /isolate?step=1|2&ns=…`: two requests showing that `fromEnv` keeps one cache, and
 *   its L1, per isolate.
 * - `GET /inval?ns=…&op=get|set|close&value=…`: a module-scope cache (HTTP L2, stream polling
 *   every 100 ms) that a Node process shares a namespace with, to prove invalidation both ways.
 */
import { createCache, errors, runtime, type TierCache } from 'tiercache'
import { fromEnv, type WorkersContext, type WorkersEnv } from 'tiercache/workers'
import { redis } from 'tiercache/redis'
import { equal, ok, runSuite, type Case, type Transport } from '../suite.js'

interface Env extends WorkersEnv {
  REDIS_URL: string
  UPSTASH_REDIS_REST_URL: string
  UPSTASH_REDIS_REST_TOKEN: string
}

/**
 * Created at module scope, where workerd forbids I/O, timers and random values: creating a
 * cache must do none of them (the Worker would not start).
 */
const moduleCache = createCache({ namespace: 'rt-workerd-module-scope' })

function workersCases(env: Env, ctx: WorkersContext): Case[] {
  return [
    {
      name: 'workers: a cache created at module scope serves requests (L2 from the bindings, invalidation on)',
      async run() {
        equal(Object.values(moduleCache.stats().tiers).map((t) => t.name), ['lru', 'upstash'], 'tiers')
        await moduleCache.set('k', { at: 'module scope' })
        equal(await moduleCache.get('k'), { at: 'module scope' }, 'read back')
        await moduleCache.delete('k')
        equal(await moduleCache.get('k'), undefined, 'deleted')
        ok(moduleCache.diagnostics().invalidation.transport !== 'off', 'invalidation is on')
      },
    },
    {
      name: 'workers: fromEnv builds the cache from env (HTTP L2) and returns it again for the namespace',
      async run({ ctx: suite }) {
        const ns = `rt-workerd-fromenv-${Math.random().toString(36).slice(2, 10)}`
        const cache = fromEnv(env, ctx, { namespace: ns })
        try {
          equal(Object.values(cache.stats().tiers).map((t) => t.name), ['lru', 'upstash'], 'tiers')
          ok(fromEnv(env, ctx, { namespace: ns }) === cache, 'the same instance for the same namespace')
          ok(fromEnv(env, ctx, { namespace: `${ns}-other` }) !== cache, 'another instance for another namespace')
          await cache.set('k', 'v')
          const reader = suite.createCache({ namespace: ns, l1: false })
          equal(await reader.get('k'), 'v', 'written to L2')
          await reader.close()
        } finally {
          await cache.clear()
          await cache.close()
          await fromEnv(env, ctx, { namespace: `${ns}-other` }).close()
        }
        ok(fromEnv(env, ctx, { namespace: ns }) !== cache, 'close() forgets the cache')
        await fromEnv(env, ctx, { namespace: ns }).close()
      },
    },
    {
      name: 'workers: REDIS_URL alone is refused as a default (TCP is per request), with a typed error',
      async run() {
        let code = ''
        try {
          fromEnv({ REDIS_URL: env.REDIS_URL }, ctx, { namespace: 'refused' })
        } catch (e) {
          code = e instanceof errors.InvalidOptionError ? e.code : String(e)
        }
        equal(code, 'E_INVALID_OPTION', 'error code')
        let bad = ''
        try {
          fromEnv({ UPSTASH_REDIS_REST_URL: 'not a url', UPSTASH_REDIS_REST_TOKEN: 't' }, ctx, { namespace: 'refused' })
        } catch (e) {
          bad = e instanceof errors.InvalidOptionError ? (e.option ?? '') : String(e)
        }
        equal(bad, 'env.UPSTASH_REDIS_REST_URL', 'the variable named by the error')
      },
    },
    {
      name: 'workers: no bindings at all means an in-process memoryStore() L2',
      async run() {
        const cache = fromEnv({}, ctx, { namespace: `rt-workerd-mem-${Math.random().toString(36).slice(2, 10)}` })
        equal(Object.values(cache.stats().tiers).map((t) => t.name), ['lru', 'memory'], 'tiers')
        await cache.close()
      },
    },
  ]
}

let isolateCache: TierCache | undefined

export default {
  async fetch(request: Request, env: Env, ctx: WorkersContext): Promise<Response> {
    const url = new URL(request.url)
    if (url.pathname === '/suite') {
      const transport = url.searchParams.get('transport') as Transport
      const only = url.searchParams.get('only') ?? undefined
      const entry = { got: runtime, expected: 'workers' }
      const report =
        transport === 'tcp'
          ? await runSuite({ runtime: 'workerd', transport, l2Name: 'redis', entry, executionCtx: ctx, createCache: (options) => createCache({ ...options, l2: redis({ url: env.REDIS_URL }) }) }, { only })
          : await runSuite({ runtime: 'workerd', transport, l2Name: 'upstash', entry, executionCtx: ctx, createCache }, { only, extra: workersCases(env, ctx) })
      return Response.json(report)
    }
    if (url.pathname === '/inval') {
      const cache = fromEnv(env, ctx, { namespace: url.searchParams.get('ns') ?? 'inval', invalidation: { transport: 'stream', pollInterval: 100 } })
      const op = url.searchParams.get('op')
      if (op === 'set') await cache.set('k', url.searchParams.get('value') ?? '')
      if (op === 'close') {
        await cache.clear()
        await cache.close()
      }
      return Response.json({ value: op === 'get' ? ((await cache.get('k')) ?? null) : null, l1Hits: cache.stats().tiers.l1?.hits ?? 0 })
    }
    if (url.pathname === '/isolate') {
      const namespace = url.searchParams.get('ns') ?? 'isolate'
      const cache = fromEnv(env, ctx, { namespace })
      if (url.searchParams.get('step') === '1') {
        isolateCache = cache
        await cache.set('k', 'from the first request')
        return Response.json({ ok: true })
      }
      const value = await cache.get('k')
      const body = { sameInstance: cache === isolateCache, value, l1Hits: cache.stats().tiers.l1?.hits ?? 0 }
      await cache.clear()
      await cache.close()
      return Response.json(body)
    }
    return new Response('not found', { status: 404 })
  },
}
