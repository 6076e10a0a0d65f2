/**
 * The example app: a Hono API whose routes are cached whole by `cacheRoute` (tiercache/hono),
 * in L1 and in L2 (the embedded store, or Redis), with invalidation by tag.
 *
 *   GET    /products/:id      slow JSON API route (a 200 ms data source): MISS, then HIT;
 *                            an unknown id is a 404, cached too
 *   DELETE /products/:id      drops that product's cached routes (cache.deleteByTag), on every instance
 *   GET    /images/:id.png    binary route: a generated PNG (100 ms to "render"), stored byte for byte
 *   GET    /me                per-user private route: `Authorization: Bearer alice-token` (or bob-token)
 *                            gets an entry of its own; no token, 401, never cached
 *   GET    /stats             the cache's counters and the data source's query count (not cached)
 *   GET    /__cache           a live dashboard: hit rates per tier, loads, L2 health, invalidation
 *   GET    /__cache/metrics   the same counters in the Prometheus text format
 *
 * `createApp(cache)` builds it around a cache the caller owns (server.ts makes it from the
 * environment), so other routes can be mounted on it.
 */
import { Hono } from 'hono'
import type { TierCache } from 'tiercache'
import { cacheRoute } from 'tiercache/hono'
import { cacheDashboard } from 'tiercache/dashboard'

export interface Product {
  id: string
  name: string
  price: number
  updatedAt: string
}

/** Stands in for a database that takes `delayMs` per query. */
export function slowSource(delayMs = 200): { find(id: string): Promise<Product | null>; queries: number } {
  const source = {
    queries: 0,
    async find(id: string): Promise<Product | null> {
      source.queries++
      await new Promise((resolve) => setTimeout(resolve, delayMs))
      if (!/^\d+$/.test(id) || Number(id) > 1000) return null
      return { id, name: `Product ${id}`, price: Number(id) * 1.5, updatedAt: new Date().toISOString() }
    },
  }
  return source
}

/** Demo bearer tokens and the users they stand for (a real app verifies a session or a JWT). */
const USERS: Record<string, string> = { 'alice-token': 'alice', 'bob-token': 'bob' }
const userOf = (authorization: string | undefined): string | undefined => USERS[authorization?.replace(/^Bearer\s+/i, '') ?? '']

export function createApp(cache: TierCache, source = slowSource()): Hono {
  const app = new Hono()

  app.get('/', (c) =>
    c.json({
      routes: [
        'GET /products/:id (cached, 200 ms when not)',
        'DELETE /products/:id (invalidates by tag)',
        'GET /images/:id.png (cached binary)',
        'GET /me with Authorization: Bearer alice-token (cached per user)',
        'GET /stats',
      ],
      tiers: Object.values(cache.stats().tiers).map((t) => t.name),
    }),
  )

  // a JSON API route: fresh for 30 s, then served stale for up to 5 min while one refresh runs
  app.get('/products/:id', cacheRoute({ cache, ttl: '30s', grace: '5m' }), async (c) => {
    const id = c.req.param('id')
    c.set('cacheTags', [`product:${id}`]) // DELETE /products/:id drops it
    const product = await source.find(id)
    if (product === null) return c.json({ error: `no product ${id}` }, 404)
    return c.json(product)
  })

  app.delete('/products/:id', async (c) => {
    await cache.deleteByTag(`product:${c.req.param('id')}`)
    return c.body(null, 204)
  })

  // a binary route: the origin's Cache-Control sets how long it is kept
  app.get('/images/:file{[0-9]+\\.png}', cacheRoute({ cache }), async (c) => {
    const id = Number(c.req.param('file').slice(0, -4))
    await new Promise((resolve) => setTimeout(resolve, 100))
    c.header('cache-control', 'public, max-age=3600')
    return c.body(await gradientPng(id), 200, { 'content-type': 'image/png' })
  })

  // a per-user route: each user's response is cached under their identity
  app.get('/me', cacheRoute({ cache, ttl: '1m', private: (c) => userOf(c.req.header('authorization')) }), async (c) => {
    const user = userOf(c.req.header('authorization'))
    if (user === undefined) return c.json({ error: 'send Authorization: Bearer alice-token (or bob-token)' }, 401)
    await new Promise((resolve) => setTimeout(resolve, 150))
    c.header('cache-control', 'private, max-age=60')
    return c.json({ user, greeting: `Hello, ${user}`, at: new Date().toISOString() })
  })

  app.get('/stats', (c) => c.json({ ...cache.stats(), sourceQueries: source.queries }))
  app.route('/__cache', cacheDashboard([cache]))

  return app
}

// ---------------------------------------------------------------- a tiny PNG encoder (web APIs only)

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  out.set(new TextEncoder().encode(type), 4)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

/** A 64×64 RGB gradient whose hue depends on `id`, as a PNG. */
async function gradientPng(id: number): Promise<Uint8Array<ArrayBuffer>> {
  const size = 64
  const raw = new Uint8Array(size * (1 + size * 3))
  for (let y = 0; y < size; y++) {
    const row = y * (1 + size * 3)
    for (let x = 0; x < size; x++) {
      raw[row + 1 + x * 3] = (x * 4 + id * 37) & 0xff
      raw[row + 2 + x * 3] = (y * 4 + id * 11) & 0xff
      raw[row + 3 + x * 3] = (id * 53) & 0xff
    }
  }
  const deflated = new Uint8Array(await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream('deflate'))).arrayBuffer())
  const header = new Uint8Array(13)
  new DataView(header.buffer).setUint32(0, size)
  new DataView(header.buffer).setUint32(4, size)
  header.set([8, 2, 0, 0, 0], 8) // 8-bit RGB
  const parts = [new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflated), chunk('IEND', new Uint8Array(0))]
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    png.set(part, at)
    at += part.length
  }
  return png
}
