/**
 * The example app on Cloudflare Workers: a Hono API whose product route is served through
 * `getOrLoad` over a slow data source. The first request for a product answers
 * `X-Cache: MISS` (the loader runs, ~200 ms), the next ones `X-Cache: HIT`.
 *
 * `fromEnv(env, ctx, options)` returns one cache per isolate: its L1 lives in module scope
 * and serves every request the isolate handles. Its L2 comes from the bindings:
 * UPSTASH_REDIS_REST_URL + UPSTASH_REDIS_REST_TOKEN → Redis over HTTP (Upstash, or the
 * tiercache REST bridge in front of any Redis); neither → an in-process store per isolate.
 *
 *   npm run build && npx wrangler dev          (wrangler.toml at the repo root)
 *   npx wrangler dev --var UPSTASH_REDIS_REST_URL:http://127.0.0.1:8080 --var UPSTASH_REDIS_REST_TOKEN:<token>
 */
import { Hono } from 'hono'
import { fromEnv, type TierCache } from 'tiercache/workers'

interface Bindings {
  UPSTASH_REDIS_REST_URL?: string
  UPSTASH_REDIS_REST_TOKEN?: string
}

interface Product {
  id: string
  name: string
  price: number
  updatedAt: Date
}

/** Stands in for a database that takes 200 ms per query. */
let sourceQueries = 0
async function findProduct(id: string): Promise<Product | null> {
  sourceQueries++
  await new Promise((resolve) => setTimeout(resolve, 200))
  if (!/^\d+$/.test(id) || Number(id) > 1000) return null
  return { id, name: `Product ${id}`, price: Number(id) * 1.5, updatedAt: new Date() }
}

const app = new Hono<{ Bindings: Bindings; Variables: { cache: TierCache } }>()

// the isolate's cache, bound to this request's env and ctx.waitUntil
app.use(async (c, next) => {
  c.set('cache', fromEnv(c.env, c.executionCtx, { namespace: 'example', ttl: '1m' }))
  await next()
})

app.get('/', (c) => c.json({ routes: ['GET /products/:id (cached)', 'DELETE /products/:id (invalidates)', 'GET /stats'] }))

app.get('/products/:id', async (c) => {
  const id = c.req.param('id')
  const started = performance.now()
  let loaded = false
  const product = await c.var.cache.getOrLoad(`product:${id}`, () => {
    loaded = true
    return findProduct(id)
  })
  c.header('X-Cache', loaded ? 'MISS' : 'HIT')
  c.header('Server-Timing', `cache;desc="${loaded ? 'loader' : 'cache'}";dur=${(performance.now() - started).toFixed(1)}`)
  if (product === null) return c.json({ error: `no product ${id}` }, 404)
  return c.json(product)
})

app.delete('/products/:id', async (c) => {
  await c.var.cache.delete(`product:${c.req.param('id')}`)
  return c.body(null, 204)
})

app.get('/stats', (c) => c.json({ ...c.var.cache.stats(), sourceQueries }))

export default app
