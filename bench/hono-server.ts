/**
 * The server `bench/hono.ts` loads: one Hono app on @hono/node-server with three routes.
 *
 *   GET /hello                 c.text('hello'): the static baseline
 *   GET /cached/products/:id   cacheRoute over the API handler (L1 hits once warm)
 *   GET /uncached/products/:id the same API handler without the cache
 *
 * The API handler stands in for a JSON API route: it waits API_DELAY_MS (default 10) for its
 * "database", then answers one product as JSON (~90 bytes, like the example app's route).
 * Prints its URL once listening.
 */
import { serve } from '@hono/node-server'
import { Hono, type Context } from 'hono'
import { createCache } from '../runtimes/default.js'
import { lru } from '../adapters/lru.js'
import { cacheRoute } from '../adapters/hono/index.js'

const delayMs = Number(process.env.API_DELAY_MS ?? 10)
const cache = createCache({ namespace: 'bench-hono', l1: lru(), l2: false, ttl: '1h' })

async function product(c: Context): Promise<Response> {
  await new Promise((resolve) => setTimeout(resolve, delayMs))
  const id = c.req.param('id') ?? '0'
  return c.json({ id, name: `Product ${id}`, price: Number(id) * 1.5, updatedAt: '2026-01-01T00:00:00.000Z' })
}

const app = new Hono()
app.get('/hello', (c) => c.text('hello'))
app.get('/cached/products/:id', cacheRoute({ cache }), product)
app.get('/uncached/products/:id', product)

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' }, (info) => {
  console.log(`bench server on http://127.0.0.1:${info.port}`)
})
