/**
 * `npm start`: the example Hono app (app.ts) on Node, its routes cached by `cacheRoute`. With no
 * configuration the cache runs on its embedded defaults (an lru() L1 and an in-process
 * memoryStore() L2, no Redis needed); REDIS_URL switches L2 to Redis over TCP,
 * UPSTASH_REDIS_REST_URL (with UPSTASH_REDIS_REST_TOKEN) to Redis over HTTP (Upstash, or the
 * tiercache REST bridge), so several instances share entries and invalidations.
 *
 *   PORT (default 3000), HOST (default 127.0.0.1), REDIS_URL, UPSTASH_REDIS_REST_URL/_TOKEN
 */
import { serve } from '@hono/node-server'
import { createCache } from 'tiercache'
import { redis } from 'tiercache/redis'
import { upstash } from 'tiercache/upstash'
import { createApp } from './app.js'

const redisUrl = process.env.REDIS_URL
const restUrl = process.env.UPSTASH_REDIS_REST_URL
const l2 = redisUrl ? redis({ url: redisUrl, onError: (e) => console.error('redis:', (e as Error).message) })
  : restUrl ? upstash() // url and token from UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN
  : undefined // the embedded memoryStore()
const cache = createCache({
  namespace: 'example',
  ttl: '1m',
  ...(l2 ? { l2 } : {}),
  onEvent: (event) => {
    if (event.type === 'l2:error') console.error(`cache: ${event.error.message}`)
  },
})

const app = createApp(cache)
const port = Number(process.env.PORT ?? 3000)
const hostname = process.env.HOST ?? '127.0.0.1'

const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
  const where = redisUrl ? `Redis at ${redisUrl.replace(/\/\/[^@/]*@/, '//***@')}`
    : restUrl ? `Redis over HTTP at ${restUrl}`
    : 'the embedded in-process store (set REDIS_URL or UPSTASH_REDIS_REST_URL for Redis)'
  const url = `http://${hostname}:${info.port}`
  console.log(`tiercache example listening on ${url} — L2: ${where}`)
  console.log(`try: curl -i ${url}/products/42   (twice: X-Cache: MISS after ~200 ms, then HIT; ${url}/ lists the other routes)`)
})

const shutdown = (): void => {
  server.close(() => {
    void cache.close().then(() => process.exit(0))
  })
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
