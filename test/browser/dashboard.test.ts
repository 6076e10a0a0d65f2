import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import parsePrometheus from 'parse-prometheus-text-format'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../../runtimes/default.js'
import { cacheDashboard } from '../../adapters/dashboard.js'
import { lru } from '../../adapters/lru.js'
import { memoryStore } from '../../adapters/memory.js'
import type { TierCache } from '../../src/index.js'
import { sleep, testRedis, uniqueName } from '../support/helpers.js'

/** Debian's chromium: .ci/run installs it when missing. The test fails (never skips) without it. */
const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

let server: ServerType
let base: string
let browser: BrowserContext
let profile: string
let products: TierCache
let sessions: TierCache
const pageErrors: string[] = []

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: the dashboard's browser test needs Debian's chromium (apt-get install chromium; .ci/run installs it)`)
  }
  // one cache on the embedded store, one on the test Redis: the page shows both
  products = createCache({ namespace: uniqueName('dash-products'), l1: lru(), l2: memoryStore() })
  sessions = createCache({ namespace: uniqueName('dash-sessions'), l1: lru(), l2: testRedis() })
  const app = new Hono()
  app.get('/products/:id', async (c) => {
    const id = c.req.param('id')
    const product = await products.getOrLoad(id, async () => {
      await sleep(15) // a slow data source
      return { id, name: `Product ${id}` }
    })
    return c.json(product)
  })
  app.delete('/products/:id', async (c) => {
    await products.delete(c.req.param('id'))
    return c.body(null, 204)
  })
  app.get('/sessions/:id', async (c) => c.json(await sessions.getOrLoad(c.req.param('id'), async (id) => ({ id }))))
  app.route('/__cache', cacheDashboard([products, sessions], { interval: 200, title: 'shop' }))
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  profile = mkdtempSync(join(tmpdir(), 'tiercache-chromium-'))
  browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS })
})

afterAll(async () => {
  await browser?.close()
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true })
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
  await sessions?.clear().catch(() => undefined)
  await Promise.all([products?.close(), sessions?.close()])
})

async function traffic(path: string, ids: readonly (string | number)[]): Promise<void> {
  for (const id of ids) {
    const res = await fetch(`${base}${path}/${id}`)
    expect(res.status).toBe(200)
    await res.arrayBuffer()
  }
}

const field = (page: Page, cache: TierCache, name: string) => page.locator(`section[data-cache="${cache.namespace}"] [data-field="${name}"]`)
const cell = (page: Page, cache: TierCache, row: string, column: number) =>
  page.locator(`section[data-cache="${cache.namespace}"] tr[${row}] td:nth-child(${column})`)

describe('the dashboard in a real browser', () => {
  it('shows live hit rates per tier, loads, latency and invalidation figures that move with traffic', async () => {
    const page = await browser.newPage()
    page.on('pageerror', (error) => pageErrors.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text())
    })
    const response = await page.goto(`${base}/__cache`)
    expect(response?.status()).toBe(200)
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'")
    await expect.poll(() => page.locator('#status').textContent()).toBe('live')
    expect(await page.locator('h1').textContent()).toBe('shop')
    expect(await field(page, products, 'requests').textContent()).toBe('0')
    expect(await field(page, products, 'hitRate').textContent()).toBe('–')

    // 5 products, each read 4 times: 5 loads, 15 L1 hits
    await traffic('/products', [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5])
    await expect.poll(() => field(page, products, 'requests').textContent(), { timeout: 5000 }).toBe('20')
    expect(await field(page, products, 'hitRate').textContent()).toBe('75.0 %')
    expect(await field(page, products, 'loads').textContent()).toBe('5')
    expect(await cell(page, products, 'data-tier="l1"', 3).textContent()).toBe('15') // l1 hits
    expect(await cell(page, products, 'data-tier="l1"', 5).textContent()).toBe('75.0 %') // l1 hit rate
    expect(await cell(page, products, 'data-tier="l2"', 6).textContent()).toBe('closed')
    // latency per answering tier: L1 hits and loader misses, with percentiles
    expect(await cell(page, products, 'data-group="read l1"', 2).textContent()).toBe('15')
    expect(await cell(page, products, 'data-group="read loader"', 2).textContent()).toBe('5')
    expect(await cell(page, products, 'data-group="read loader"', 3).textContent()).toMatch(/ms$/) // ≥ 15 ms loads
    expect(await field(page, products, 'readP50').textContent()).toMatch(/µs|ms/)
    // the chart has drawn points
    await expect.poll(async () => ((await field(page, products, 'rpsLine').getAttribute('points')) ?? '').split(' ').length).toBeGreaterThan(2)
    expect(await field(page, products, 'published').textContent()).toBe('0') // loads fill, they do not invalidate

    // more traffic: the numbers move again, on both caches
    expect((await fetch(`${base}/products/1`, { method: 'DELETE' })).status).toBe(204)
    await expect.poll(() => field(page, products, 'published').textContent(), { timeout: 5000 }).toBe('1')
    await traffic('/products', [1, 2, 6])
    await traffic('/sessions', ['a', 'a', 'b'])
    await expect.poll(() => field(page, products, 'requests').textContent(), { timeout: 5000 }).toBe('23')
    expect(await field(page, products, 'loads').textContent()).toBe('7') // 1 (deleted) and 6
    await expect.poll(() => field(page, sessions, 'requests').textContent(), { timeout: 5000 }).toBe('3')
    expect(await field(page, sessions, 'loads').textContent()).toBe('2')
    expect(await field(page, sessions, 'transport').textContent()).toBe('pubsub')
    await expect.poll(() => field(page, sessions, 'listening').textContent()).toBe('listening')
    expect(await cell(page, sessions, 'data-tier="l2"', 2).textContent()).toBe('redis')
    expect(await field(page, sessions, 'diagnostics').textContent()).toContain(`"namespace": "${sessions.namespace}"`)

    await page.screenshot({ path: join(profile, 'dashboard.png'), fullPage: true })
    expect(pageErrors).toEqual([])
    await page.close()
  })

  it('serves the metrics of every cache in the Prometheus text format next to the page', async () => {
    const res = await fetch(`${base}/__cache/metrics`)
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = await res.text()
    const families = parsePrometheus(text)
    const requests = families.find((f) => f.name === 'tiercache_requests_total')!
    expect(requests.metrics.map((m) => m.labels?.namespace)).toEqual([products.namespace, sessions.namespace])
    expect(text).toContain(`tiercache_operation_duration_seconds_count{namespace="${products.namespace}",operation="getOrLoad",tier="l1",result="hit"}`)
    const data = (await (await fetch(`${base}/__cache/data`)).json()) as { caches: { name: string }[] }
    expect(data.caches.map((c) => c.name)).toEqual([products.namespace, sessions.namespace])
  })
})
