/**
 * `npm start`: the example app on Node. With no configuration the cache runs on its
 * embedded defaults (an lru() L1 and an in-process memoryStore() L2, no Redis needed);
 * REDIS_URL switches L2 to Redis over TCP.
 *
 *   PORT (default 3000), HOST (default 127.0.0.1), REDIS_URL (optional)
 */
import { serve } from '@hono/node-server'
import { createCache } from 'tiercache'
import { redis } from 'tiercache/redis'
import { createApp } from './app.js'

const redisUrl = process.env.REDIS_URL
const cache = createCache({
  namespace: 'example',
  ttl: '1m',
  ...(redisUrl ? { l2: redis({ url: redisUrl, onError: (e) => console.error('redis:', (e as Error).message) }) } : {}),
  onEvent: (event) => {
    if (event.type === 'l2:error') console.error(`cache: ${event.error.message}`)
  },
})

const app = createApp(cache)
const port = Number(process.env.PORT ?? 3000)
const hostname = process.env.HOST ?? '127.0.0.1'

const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
  const l2 = redisUrl ? `Redis at ${redisUrl.replace(/\/\/[^@/]*@/, '//***@')}` : 'the embedded in-process store (set REDIS_URL for Redis)'
  console.log(`tiercache example listening on http://${hostname}:${info.port} — L2: ${l2}`)
  console.log(`try: curl -i http://${hostname}:${info.port}/products/42   (twice: MISS, then HIT)`)
})

const shutdown = (): void => {
  server.close(() => {
    void cache.close().then(() => process.exit(0))
  })
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
