/**
 * The example app on Cloudflare Workers: a Hono API whose product route is cached whole by the
 * `cacheRoute` middleware (tiercache/hono) over a slow data source. The first request for a
 * product answers `X-Cache: MISS` (the handler runs, ~200 ms), the next ones `X-Cache: HIT`
 * (with `Age`, an `ETag` and a 304 for a matching `If-None-Match`); `DELETE /products/:id` drops
 * the product's cached routes by tag (`cache.deleteByTag`), in every isolate sharing the L2.
 *
 * The cache is created at module scope, so its L1 lives as long as the isolate and serves every
 * request it handles. Its L2 comes from the bindings (`env` of `cloudflare:workers`):
 * UPSTASH_REDIS_REST_URL + UPSTASH_REDIS_REST_TOKEN → Redis over HTTP (Upstash, or the
 * tiercache REST bridge in front of any Redis); neither → an in-process store per isolate.
 * A stale response's background refresh goes to `c.executionCtx.waitUntil`.
 *
 *   npm run build && npx wrangler dev          (wrangler.toml at the repo root)
 *   npx wrangler dev --var UPSTASH_REDIS_REST_URL:http://127.0.0.1:8080 --var UPSTASH_REDIS_REST_TOKEN:<token>
 */
import { Hono } from 'hono'
import { createCache } from 'tiercache/workers'
import { cacheRoute } from 'tiercache/hono'

interface Product {
  id: string
  name: string
  price: number
  updatedAt: string
}

/** Stands in for a database that takes 200 ms per query. */
let sourceQueries = 0
async function findProduct(id: string): Promise<Product | null> {
  sourceQueries++
  await new Promise((resolve) => setTimeout(resolve, 200))
  if (!/^\d+$/.test(id) || Number(id) > 1000) return null
  return { id, name: `Product ${id}`, price: Number(id) * 1.5, updatedAt: new Date().toISOString() }
}

const cache = createCache({ namespace: 'example', ttl: '1m' })
const app = new Hono()

app.get('/', (c) => c.json({ routes: ['GET /products/:id (cached, 200 ms when not)', 'DELETE /products/:id (invalidates by tag)', 'GET /stats'] }))

// fresh for 30 s, then served stale for up to 5 min while one refresh runs (kept alive by waitUntil)
app.get('/products/:id', cacheRoute({ cache, ttl: '30s', grace: '5m' }), async (c) => {
  const id = c.req.param('id')
  c.set('cacheTags', [`product:${id}`]) // DELETE /products/:id drops it
  const product = await findProduct(id)
  if (product === null) return c.json({ error: `no product ${id}` }, 404)
  return c.json(product)
})

app.delete('/products/:id', async (c) => {
  await cache.deleteByTag(`product:${c.req.param('id')}`)
  return c.body(null, 204)
})

app.get('/stats', (c) => c.json({ ...cache.stats(), sourceQueries }))

export default app
