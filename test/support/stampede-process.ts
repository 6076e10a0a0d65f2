/**
 * One instance of a cross-instance stampede: waits until START_AT, then runs CALLERS
 * concurrent getOrLoad calls on KEY. The loader counts itself in Redis (INCR COUNTER_KEY),
 * marks LOADING_KEY, and takes LOADER_MS. Prints `result {json}` when done.
 * Env: REDIS_URL, NAMESPACE, KEY, COUNTER_KEY, LOADING_KEY, START_AT, CALLERS, LOADER_MS, LEASE_MS.
 */
import { createClient } from 'redis'
import { createCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { redis } from '../../adapters/redis.js'

const env = process.env
const raw = createClient({ url: env.REDIS_URL })
await raw.connect()
const cache = createCache({
  namespace: env.NAMESPACE!,
  l1: lru(),
  l2: redis({ url: env.REDIS_URL! }),
  lock: { lease: Number(env.LEASE_MS ?? 5000) },
  invalidation: false,
})
const loader = async (): Promise<string> => {
  await raw.incr(env.COUNTER_KEY!)
  await raw.set(env.LOADING_KEY!, String(process.pid))
  await new Promise((resolve) => setTimeout(resolve, Number(env.LOADER_MS ?? 20)))
  return `loaded by ${process.pid}`
}
console.log(`ready http://pid/${process.pid}`)
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(env.START_AT) - Date.now())))
const values = await Promise.all(Array.from({ length: Number(env.CALLERS ?? 100) }, () => cache.getOrLoad(env.KEY!, loader)))
console.log(`result ${JSON.stringify({ pid: process.pid, distinct: [...new Set(values)], stats: cache.stats().locks, loads: cache.stats().loads })}`)
await cache.close()
await raw.close()
