import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { startPrintingUrl, type Started } from '../support/process.js'
import { startBridge } from '../support/bridge.js'

const root = join(import.meta.dirname, '..', '..')
const running: Started[] = []
afterEach(async () => {
  for (const app of running.splice(0)) await app.stop()
})

/** Starts examples/node/server.ts the way `npm start` does (after the build). */
async function startExample(env: NodeJS.ProcessEnv): Promise<Started> {
  if (!existsSync(join(root, 'dist', 'runtimes', 'default.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)')
  }
  const app = await startPrintingUrl(process.execPath, ['--import', 'tsx', join(root, 'examples/node/server.ts')], { PORT: '0', ...env })
  running.push(app)
  return app
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

  it('switches to Redis with REDIS_URL: a second instance gets the first one\'s entry', async () => {
    const env = { REDIS_URL: inject('redisUrl'), UPSTASH_REDIS_REST_URL: '' }
    const a = await startExample(env)
    const b = await startExample(env)
    expect(a.output()).toContain('L2: Redis at')
    const id = String(1 + Math.floor(Math.random() * 1000))
    await fetch(`${a.url}/products/${id}`, { method: 'DELETE' })
    expect((await fetch(`${a.url}/products/${id}`)).headers.get('x-cache')).toBe('MISS')
    const fromB = await fetch(`${b.url}/products/${id}`)
    expect(fromB.headers.get('x-cache')).toBe('HIT')
    const stats = await (await fetch(`${b.url}/stats`)).json()
    expect(stats).toMatchObject({ sourceQueries: 0, tiers: { l2: { name: 'redis', hits: 1 } } })
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
      expect((await fetch(`${b.url}/products/${id}`)).headers.get('x-cache')).toBe('HIT')
      const stats = await (await fetch(`${b.url}/stats`)).json()
      expect(stats).toMatchObject({ sourceQueries: 0, tiers: { l2: { name: 'upstash', hits: 1 } } })
      await fetch(`${a.url}/products/${id}`, { method: 'DELETE' })
    } finally {
      for (const app of running.splice(0)) await app.stop()
      await bridge.close()
    }
  })
})
