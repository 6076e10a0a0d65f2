import { existsSync } from 'node:fs'
import { get } from 'node:http'
import { join } from 'node:path'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { startPrintingUrl, type Started } from '../support/process.js'
import { startBridge } from '../support/bridge.js'

const root = join(import.meta.dirname, '..', '..')
const running: Started[] = []
afterEach(async () => {
  for (const app of running.splice(0)) await app.stop()
})

/** Starts examples/node-hono/server.ts the way `npm start` does (after the build). */
async function startExample(env: NodeJS.ProcessEnv): Promise<Started> {
  if (!existsSync(join(root, 'dist', 'runtimes', 'default.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)')
  }
  const app = await startPrintingUrl(process.execPath, ['--import', 'tsx', join(root, 'examples/node-hono/server.ts')], { PORT: '0', ...env })
  running.push(app)
  return app
}

/**
 * A GET to `base` carrying the Host of `front`, as a load balancer in front of several instances
 * forwards it (the route cache keys by host; fetch() cannot set Host).
 */
function viaBalancer(base: string, path: string, front: string): Promise<{ status: number; cache: string | undefined }> {
  return new Promise((resolve, reject) => {
    get(`${base}${path}`, { headers: { host: new URL(front).host } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode!, cache: res.headers['x-cache'] as string | undefined }))
    }).on('error', reject)
  })
}

describe('the npm start example', () => {
  it('serves a product as MISS then HIT on the embedded default, and caches a 404', async () => {
    const app = await startExample({ REDIS_URL: '', UPSTASH_REDIS_REST_URL: '' })
    expect(app.output()).toContain('embedded in-process store')
    const url = app.url
    const first = await fetch(`${url}/products/42`)
    expect(first.status).toBe(200)
    expect(first.headers.get('x-cache')).toBe('MISS')
    const body = await first.json()
    expect(body).toMatchObject({ id: '42', name: 'Product 42' })
    const second = await fetch(`${url}/products/42`)
    expect(second.headers.get('x-cache')).toBe('HIT')
    expect(await second.json()).toEqual(body)

    expect((await fetch(`${url}/products/5000`)).headers.get('x-cache')).toBe('MISS')
    const missing = await fetch(`${url}/products/5000`)
    expect(missing.status).toBe(404)
    expect(missing.headers.get('x-cache')).toBe('HIT')

    await fetch(`${url}/products/42`, { method: 'DELETE' })
    expect((await fetch(`${url}/products/42`)).headers.get('x-cache')).toBe('MISS')
    const stats = await (await fetch(`${url}/stats`)).json()
    expect(stats).toMatchObject({ sourceQueries: 3, loads: 3, tiers: { l2: { name: 'memory' } } })
  })

  it('prints its URL and one curl line; caches the binary route byte for byte and the private route per user', async () => {
    const app = await startExample({ REDIS_URL: '', UPSTASH_REDIS_REST_URL: '' })
    await expect.poll(() => app.output()).toContain('try: curl')
    expect(app.output()).toContain(`try: curl -i ${app.url}/products/42`)
    const index = await (await fetch(`${app.url}/`)).json()
    expect(index.routes).toEqual(expect.arrayContaining([expect.stringContaining('/images/'), expect.stringContaining('/me')]))

    const first = await fetch(`${app.url}/images/7.png`)
    expect(first.headers.get('x-cache')).toBe('MISS')
    expect(first.headers.get('content-type')).toBe('image/png')
    const bytes = new Uint8Array(await first.arrayBuffer())
    expect([...bytes.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10])
    const second = await fetch(`${app.url}/images/7.png`)
    expect(second.headers.get('x-cache')).toBe('HIT')
    expect(second.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{43}"$/)
    expect(second.headers.get('age')).toMatch(/^\d+$/)
    expect(second.headers.get('server-timing')).toBe('cache;desc="l1"')
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(bytes)
    const notModified = await fetch(`${app.url}/images/7.png`, { headers: { 'if-none-match': second.headers.get('etag')! } })
    expect(notModified.status).toBe(304)

    const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })
    const alice = await fetch(`${app.url}/me`, as('alice-token'))
    expect(alice.headers.get('x-cache')).toBe('MISS')
    const aliceBody = await alice.json()
    expect(aliceBody).toMatchObject({ user: 'alice' })
    const bob = await fetch(`${app.url}/me`, as('bob-token'))
    expect(bob.headers.get('x-cache')).toBe('MISS')
    expect(await bob.json()).toMatchObject({ user: 'bob' })
    const again = await fetch(`${app.url}/me`, as('alice-token'))
    expect(again.headers.get('x-cache')).toBe('HIT')
    expect(await again.json()).toEqual(aliceBody)
    for (const init of [{}, as('mallory')]) {
      const refused = await fetch(`${app.url}/me`, init)
      expect(refused.status).toBe(401)
      expect(refused.headers.get('x-cache')).toBe('BYPASS')
    }
  })

  it('switches to Redis with REDIS_URL: a second instance gets the first one\'s entry', async () => {
    const env = { REDIS_URL: inject('redisUrl'), UPSTASH_REDIS_REST_URL: '' }
    const a = await startExample(env)
    const b = await startExample(env)
    expect(a.output()).toContain('L2: Redis at')
    const id = String(1 + Math.floor(Math.random() * 1000))
    await fetch(`${a.url}/products/${id}`, { method: 'DELETE' })
    expect((await fetch(`${a.url}/products/${id}`)).headers.get('x-cache')).toBe('MISS')
    expect(await viaBalancer(b.url, `/products/${id}`, a.url)).toEqual({ status: 200, cache: 'HIT' })
    const stats = await (await fetch(`${b.url}/stats`)).json()
    expect(stats).toMatchObject({ sourceQueries: 0, tiers: { l2: { name: 'redis', hits: 1 } } })
    // an invalidation on A reaches B's L1
    await fetch(`${a.url}/products/${id}`, { method: 'DELETE' })
    await expect.poll(async () => (await viaBalancer(b.url, `/products/${id}`, a.url)).cache, { timeout: 3000 }).toBe('MISS')
    await fetch(`${a.url}/products/${id}`, { method: 'DELETE' })
  })

  it('switches to Redis over HTTP with UPSTASH_REDIS_REST_URL (here through the REST bridge)', async () => {
    const bridge = await startBridge(inject('redisUrl'))
    try {
      const env = { REDIS_URL: '', UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token }
      const a = await startExample(env)
      const b = await startExample(env)
      expect(a.output()).toContain('L2: Redis over HTTP at http://127.0.0.1:')
      const id = String(1 + Math.floor(Math.random() * 1000))
      await fetch(`${a.url}/products/${id}`, { method: 'DELETE' })
      expect((await fetch(`${a.url}/products/${id}`)).headers.get('x-cache')).toBe('MISS')
      expect(await viaBalancer(b.url, `/products/${id}`, a.url)).toEqual({ status: 200, cache: 'HIT' })
      const stats = await (await fetch(`${b.url}/stats`)).json()
      expect(stats).toMatchObject({ sourceQueries: 0, tiers: { l2: { name: 'upstash', hits: 1 } } })
      await fetch(`${a.url}/products/${id}`, { method: 'DELETE' })
    } finally {
      for (const app of running.splice(0)) await app.stop()
      await bridge.close()
    }
  })

  it('serves the dashboard at /__cache and Prometheus metrics at /__cache/metrics, and the figures move with traffic', async () => {
    const app = await startExample({ REDIS_URL: '', UPSTASH_REDIS_REST_URL: '' })
    const page = await fetch(`${app.url}/__cache`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/text\/html/)
    expect(await page.text()).toContain('<html')
    const requests = async (): Promise<number> => {
      const text = await (await fetch(`${app.url}/__cache/metrics`)).text()
      const line = text.split('\n').find((l) => l.startsWith('tiercache_requests_total'))
      if (line === undefined) throw new Error(`no tiercache_requests_total in:\n${text.slice(0, 500)}`)
      return Number(line.trim().split(/\s+/).at(-1))
    }
    const before = await requests()
    for (let i = 0; i < 3; i++) await fetch(`${app.url}/products/7`)
    expect(await requests()).toBeGreaterThanOrEqual(before + 3)
  })
})
