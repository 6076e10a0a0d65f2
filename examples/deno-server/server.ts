/**
 * The example app on Deno: a Hono API served by `Deno.serve`, whose product route is cached whole
 * by the `cacheRoute` middleware (tiercache/hono) over a slow data source. The first request for
 * a product answers `X-Cache: MISS` (the handler runs, ~200 ms), the next ones `X-Cache: HIT`
 * (with `Age`, an `ETag` and a 304 for a matching `If-None-Match`); `DELETE /products/:id` drops
 * the product's cached routes by tag (`cache.deleteByTag`), on every instance sharing the L2.
 *
 * `createCache` from `tiercache` is the Deno entry (the `deno` export condition); its L2 comes
 * from the environment: REDIS_URL → Redis over TCP, UPSTASH_REDIS_REST_URL +
 * UPSTASH_REDIS_REST_TOKEN → Redis over HTTP, neither → an in-process store.
 *
 *   npm run build && deno run --allow-env --allow-net --allow-read examples/deno-server/server.ts
 *   PORT (default 3000), HOST (default 127.0.0.1)
 */
import { Hono } from 'hono'
import { createCache } from 'tiercache'
import { cacheRoute } from 'tiercache/hono'

declare const Deno: {
  env: { get(name: string): string | undefined }
  serve(
    options: { port: number; hostname: string; onListen?: (address: { port: number }) => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> }
  addSignalListener(signal: 'SIGINT' | 'SIGTERM', handler: () => void): void
  exit(code: number): never
}

interface Product {
  id: string
  name: string
  price: number
  updatedAt: string
}

let sourceQueries = 0
/** Stands in for a database that takes 200 ms per query. */
async function findProduct(id: string): Promise<Product | null> {
  sourceQueries++
  await new Promise((resolve) => setTimeout(resolve, 200))
  if (!/^\d+$/.test(id) || Number(id) > 1000) return null
  return { id, name: `Product ${id}`, price: Number(id) * 1.5, updatedAt: new Date().toISOString() }
}

const cache = createCache({ namespace: 'example', ttl: '1m' })
const app = new Hono()

// fresh for 30 s, then served stale for up to 5 min while one refresh runs
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

const hostname = Deno.env.get('HOST') || '127.0.0.1'
const l2 = cache.stats().tiers.l2?.name ?? 'none'
const server = Deno.serve({ port: Number(Deno.env.get('PORT') ?? 3000), hostname, onListen: ({ port }) => {
  console.log(`tiercache Deno example listening on http://${hostname}:${port} — L2: ${l2}`)
} }, app.fetch)

const shutdown = (): void => {
  void Promise.all([server.shutdown(), cache.close()]).then(() => Deno.exit(0))
}
Deno.addSignalListener('SIGINT', shutdown)
Deno.addSignalListener('SIGTERM', shutdown)
