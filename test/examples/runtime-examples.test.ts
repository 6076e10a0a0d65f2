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

/** The Bun and Deno examples: the same app on each runtime's own server, started from npm's binaries. */
const RUNTIMES = [
  {
    name: 'the Bun example (Bun.serve)',
    entry: 'bun.js',
    command: (): [string, string[]] => [join(root, 'node_modules', '.bin', 'bun'), ['--no-install', join(root, 'examples/bun-server/server.ts')]],
    env: {},
  },
  {
    name: 'the Deno example (Deno.serve)',
    entry: 'deno.js',
    command: (): [string, string[]] => [join(root, 'node_modules', '.bin', 'deno'), ['run', '--allow-env', '--allow-net', '--allow-read', join(root, 'examples/deno-server/server.ts')]],
    env: { DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1' },
  },
] as const

/** GET /products/:id through cacheRoute: MISS, then HIT (same bytes, Age, ETag, 304); DELETE (deleteByTag) makes it a MISS again. */
async function missThenHit(url: string, l2: string): Promise<void> {
  const id = String(1 + Math.floor(Math.random() * 1000))
  await fetch(`${url}/products/${id}`, { method: 'DELETE' })
  const first = await fetch(`${url}/products/${id}`)
  expect(first.status).toBe(200)
  expect(first.headers.get('x-cache')).toBe('MISS')
  const body = await first.json()
  expect(body).toMatchObject({ id, name: `Product ${id}` })
  const second = await fetch(`${url}/products/${id}`)
  expect(second.headers.get('x-cache')).toBe('HIT')
  expect(second.headers.get('server-timing')).toBe('cache;desc="l1"')
  expect(second.headers.get('age')).toMatch(/^\d+$/)
  expect(second.headers.get('etag')).toBe(first.headers.get('etag'))
  expect(await second.json()).toEqual(body)
  expect((await fetch(`${url}/products/${id}`, { headers: { 'if-none-match': first.headers.get('etag')! } })).status).toBe(304)
  expect(await (await fetch(`${url}/stats`)).json()).toMatchObject({ tiers: { l2: { name: l2 } }, sourceQueries: 1, l2Errors: 0 })

  expect((await fetch(`${url}/products/${id}`, { method: 'DELETE' })).status).toBe(204)
  const third = await fetch(`${url}/products/${id}`)
  expect(third.headers.get('x-cache')).toBe('MISS')
  expect(await third.json()).toMatchObject({ id, name: `Product ${id}` })
  expect(await (await fetch(`${url}/stats`)).json()).toMatchObject({ sourceQueries: 2, l2Errors: 0 })
  await fetch(`${url}/products/${id}`, { method: 'DELETE' })
}

describe.each(RUNTIMES)('$name', ({ entry, command, env: runtimeEnv }) => {
  /** Starts the example on its runtime on a free port. */
  async function startExample(env: NodeJS.ProcessEnv): Promise<Started> {
    if (!existsSync(join(root, 'dist', 'runtimes', entry))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)')
    const [bin, args] = command()
    const app = await startPrintingUrl(bin, args, { PORT: '0', NO_COLOR: '1', ...runtimeEnv, ...env })
    running.push(app)
    return app
  }

  it('serves a product through cacheRoute as MISS then HIT, DELETE makes it a MISS, L2 over TCP from REDIS_URL', async () => {
    const app = await startExample({ REDIS_URL: inject('redisUrl'), UPSTASH_REDIS_REST_URL: '', UPSTASH_REDIS_REST_TOKEN: '' })
    expect(app.output()).toContain('L2: redis')
    await missThenHit(app.url, 'redis')
  })

  it('serves a product through cacheRoute as MISS then HIT, DELETE makes it a MISS, L2 over HTTP from UPSTASH_REDIS_REST_URL (the REST bridge)', async () => {
    const bridge = await startBridge(inject('redisUrl'))
    try {
      const app = await startExample({ REDIS_URL: '', UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token })
      expect(app.output()).toContain('L2: upstash')
      await missThenHit(app.url, 'upstash')
    } finally {
      for (const app of running.splice(0)) await app.stop()
      await bridge.close()
    }
  })
})
