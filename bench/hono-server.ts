/**
 * The server `bench/hono.ts` loads: one Hono app on @hono/node-server with three routes.
 *
 *   GET /hello                 c.text('hello'): the static baseline
 *   GET /cached/products/:id   cacheRoute as middleware before the API handler (L1 hits once warm)
 *   GET /wrapped/products/:id  cacheRoute wrapped around the API handler, the route's only handler
 *   GET /uncached/products/:id the same API handler without the cache
 *   GET /floor/products/:id    the least a caching middleware can do on a hit, for reference:
 *                              one L1 read and one Response with the same headers, no HTTP rules
 *
 * The API handler stands in for a JSON API route: it waits API_DELAY_MS (default 10) for its
 * "database", then answers one product as JSON (~90 bytes, like the example app's route).
 * Prints its URL once listening.
 */
import { serve } from '@hono/node-server'
import { Hono, type Context } from 'hono'
import { createCache } from 'tiercache'
import { lru } from 'tiercache/lru'
import { cacheRoute } from 'tiercache/hono'

const delayMs = Number(process.env.API_DELAY_MS ?? 10)
const cache = createCache({ namespace: 'bench-hono', l1: lru(), l2: false, ttl: '1h' })

async function product(c: Context): Promise<Response> {
  await new Promise((resolve) => setTimeout(resolve, delayMs))
  const id = c.req.param('id') ?? '0'
  return c.json({ id, name: `Product ${id}`, price: Number(id) * 1.5, updatedAt: '2026-01-01T00:00:00.000Z' })
}

const floorCache = createCache({ namespace: 'bench-floor', l1: lru(), l2: false, ttl: '1h' })
interface Stored { body: string; type: string; etag: string }

const app = new Hono()
app.get('/hello', (c) => c.text('hello'))
app.get('/cached/products/:id', cacheRoute({ cache }), product)
app.get('/wrapped/products/:id', cacheRoute({ cache }, product))
app.get('/uncached/products/:id', product)
app.get('/floor/products/:id', async (c, next) => {
  const hit = await floorCache.get<Stored>(c.req.path)
  if (hit !== undefined) {
    c.res = new Response(hit.body, { status: 200, headers: { 'content-type': hit.type, etag: hit.etag, 'x-cache': 'HIT', age: '0', 'server-timing': 'cache;desc="l1"' } })
    return
  }
  await next()
  const body = await c.res.clone().text()
  await floorCache.set(c.req.path, { body, type: c.res.headers.get('content-type')!, etag: '"K_0U9D0X_HzqJOCReoh5tLL4gLi67sG52Q-6rWVecb0"' })
}, product)

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' }, (info) => {
  console.log(`bench server on http://127.0.0.1:${info.port}`)
})
