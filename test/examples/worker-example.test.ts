import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startPrintingUrl, type Started } from '../support/process.js'
import { startBridge, type RunningBridge } from '../support/bridge.js'
import { freePort } from '../support/redis-server.js'

const root = join(import.meta.dirname, '..', '..')

let bridge: RunningBridge
let worker: Started

/** Starts the Workers example with `wrangler dev` (the repo's wrangler.toml), L2 over HTTP through the bridge. */
beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'runtimes', 'workers.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)')
  bridge = await startBridge(inject('redisUrl'))
  const [port, inspector] = [await freePort(), await freePort()]
  worker = await startPrintingUrl(
    join(root, 'node_modules', '.bin', 'wrangler'),
    ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector), '--show-interactive-dev-session=false',
      '--var', `UPSTASH_REDIS_REST_URL:${bridge.url}`, '--var', `UPSTASH_REDIS_REST_TOKEN:${bridge.token}`],
    { CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    60_000,
  )
}, 90_000)

afterAll(async () => {
  await worker?.stop()
  await bridge?.close()
})

describe('the Workers example under wrangler dev', () => {
  it('serves a product through cacheRoute as MISS then HIT, with L2 over HTTP from the bindings; DELETE makes it a MISS again', async () => {
    expect(worker.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+/)
    const id = String(1 + Math.floor(Math.random() * 1000))
    expect((await fetch(`${worker.url}/products/${id}`, { method: 'DELETE' })).status).toBe(204)
    const queries = async (): Promise<number> => ((await (await fetch(`${worker.url}/stats`)).json()) as { sourceQueries: number }).sourceQueries
    const before = await queries()
    const first = await fetch(`${worker.url}/products/${id}`)
    expect(first.status).toBe(200)
    expect(first.headers.get('x-cache')).toBe('MISS')
    const body = await first.json()
    expect(body).toMatchObject({ id, name: `Product ${id}` })
    const second = await fetch(`${worker.url}/products/${id}`)
    expect(second.headers.get('x-cache')).toBe('HIT')
    expect(second.headers.get('server-timing')).toBe('cache;desc="l1"')
    expect(second.headers.get('age')).toMatch(/^\d+$/)
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'))
    expect(await second.json()).toEqual(body)
    expect((await fetch(`${worker.url}/products/${id}`, { headers: { 'if-none-match': first.headers.get('etag')! } })).status).toBe(304)
    expect(await queries()).toBe(before + 1)

    expect((await fetch(`${worker.url}/products/${id}`, { method: 'DELETE' })).status).toBe(204)
    const third = await fetch(`${worker.url}/products/${id}`)
    expect(third.headers.get('x-cache')).toBe('MISS')
    expect(await third.json()).toMatchObject({ id, name: `Product ${id}` })
    expect(await queries()).toBe(before + 2)
    const stats = await (await fetch(`${worker.url}/stats`)).json()
    expect(stats).toMatchObject({ namespace: 'example', tiers: { l1: { name: 'lru' }, l2: { name: 'upstash' } }, l2Errors: 0 })
    await fetch(`${worker.url}/products/${id}`, { method: 'DELETE' })
  })
})
