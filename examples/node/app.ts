/**
 * The example app: a Hono API whose product route is served through `getOrLoad` over a
 * slow data source. The first request for a product is a MISS (the loader runs, ~200 ms);
 * the next ones are HITs from L1 (or from L2 on another instance).
 */
import { Hono } from 'hono'
import type { TierCache } from 'tiercache'

export interface Product {
  id: string
  name: string
  price: number
  updatedAt: Date
}

/** Stands in for a database that takes `delayMs` per query. */
export function slowSource(delayMs = 200): { find(id: string): Promise<Product | null>; queries: number } {
  const source = {
    queries: 0,
    async find(id: string): Promise<Product | null> {
      source.queries++
      await new Promise((resolve) => setTimeout(resolve, delayMs))
      if (!/^\d+$/.test(id) || Number(id) > 1000) return null
      return { id, name: `Product ${id}`, price: Number(id) * 1.5, updatedAt: new Date() }
    },
  }
  return source
}

export function createApp(cache: TierCache, source = slowSource()): Hono {
  const app = new Hono()

  app.get('/', (c) =>
    c.json({
      routes: ['GET /products/:id (cached)', 'DELETE /products/:id (invalidates)', 'GET /stats'],
      tiers: Object.values(cache.stats().tiers).map((t) => t.name),
    }),
  )

  app.get('/products/:id', async (c) => {
    const id = c.req.param('id')
    const started = performance.now()
    let loaded = false
    const product = await cache.getOrLoad(`product:${id}`, () => {
      loaded = true
      return source.find(id)
    })
    c.header('X-Cache', loaded ? 'MISS' : 'HIT')
    c.header('Server-Timing', `cache;desc="${loaded ? 'loader' : 'cache'}";dur=${(performance.now() - started).toFixed(1)}`)
    if (product === null) return c.json({ error: `no product ${id}` }, 404)
    return c.json(product)
  })

  app.delete('/products/:id', async (c) => {
    await cache.delete(`product:${c.req.param('id')}`)
    return c.body(null, 204)
  })

  app.get('/stats', (c) => c.json({ ...cache.stats(), sourceQueries: source.queries }))

  return app
}
