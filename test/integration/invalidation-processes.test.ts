/**
 * Cross-instance invalidation between separate Node processes sharing one Redis: one on
 * Pub/Sub over TCP, one polling the stream over TCP, one polling over HTTP through the bridge.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startBridge, type RunningBridge } from '../support/bridge.js'
import { sleep, uniqueName } from '../support/helpers.js'
import { startPrintingUrl, type Started } from '../support/process.js'

const POLL = 100
const BOUND = POLL + 500 // pollInterval + one round trip, with slack for a loaded machine
const script = join(import.meta.dirname, '..', 'support', 'cache-process.ts')
let bridge: RunningBridge
const processes: Started[] = []
let urls: Record<'pubsub' | 'streamTcp' | 'streamHttp', string>

beforeAll(async () => {
  bridge = await startBridge(inject('redisUrl'))
  const namespace = uniqueName('procs')
  const start = (env: NodeJS.ProcessEnv) => startPrintingUrl(process.execPath, ['--import', 'tsx', script], { NAMESPACE: namespace, POLL_INTERVAL: String(POLL), REDIS_URL: '', ...env })
  const [pubsub, streamTcp, streamHttp] = await Promise.all([
    start({ REDIS_URL: inject('redisUrl'), TRANSPORT: 'pubsub' }),
    start({ REDIS_URL: inject('redisUrl'), TRANSPORT: 'stream' }),
    start({ UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token, TRANSPORT: 'stream' }),
  ])
  processes.push(pubsub, streamTcp, streamHttp)
  urls = { pubsub: pubsub.url, streamTcp: streamTcp.url, streamHttp: streamHttp.url }
})
afterAll(async () => {
  await fetch(`${urls.pubsub}/clear`, { method: 'POST' }).catch(() => undefined)
  for (const p of processes) await p.stop()
  await bridge.close()
})

const call = async (url: string, path: string, body?: unknown): Promise<unknown> => {
  const response = await fetch(`${url}${path}`, body === undefined && !path.startsWith('/get') && !path.startsWith('/stats') ? { method: 'POST' } : body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) })
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`)
  return response.json()
}
const read = async (url: string, key: string): Promise<unknown> => ((await call(url, `/get/${encodeURIComponent(key)}`)) as { value: unknown }).value

/** Reads until the value is `expected` or the bound passes; returns the ms it took, or -1. */
async function seen(url: string, key: string, expected: unknown): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < BOUND) {
    if (JSON.stringify(await read(url, key)) === JSON.stringify(expected)) return Date.now() - started
    await sleep(10)
  }
  return -1
}

describe('invalidation between processes', () => {
  it.each(['pubsub', 'streamTcp', 'streamHttp'] as const)('a write on the %s process reaches the L1 of the others within the bound, for every kind of write', async (writerName) => {
    const writer = urls[writerName]
    const readers = Object.entries(urls).filter(([name]) => name !== writerName).map(([, url]) => url)
    const key = `k-${writerName}`
    await call(writer, `/set/${key}`, 'v1')
    for (const r of readers) expect(await read(r, key)).toBe('v1') // cached in every L1 now

    await call(writer, `/set/${key}`, 'v2')
    for (const r of readers) expect(await seen(r, key, 'v2')).toBeGreaterThanOrEqual(0)

    await call(writer, `/delete/${key}`)
    for (const r of readers) expect(await seen(r, key, null)).toBeGreaterThanOrEqual(0)

    await call(writer, `/set/${key}?tag=t-${writerName}`, 'tagged')
    for (const r of readers) expect(await read(r, key)).toBe('tagged')
    expect(await call(writer, `/deleteByTag/t-${writerName}`)).toBe(1)
    for (const r of readers) expect(await seen(r, key, null)).toBeGreaterThanOrEqual(0)

    await call(writer, `/set/${key}`, 'before clear')
    for (const r of readers) expect(await read(r, key)).toBe('before clear')
    await call(writer, '/clear')
    for (const r of readers) expect(await seen(r, key, null)).toBeGreaterThanOrEqual(0)
  })

  it('each process reports its transport, and applies what it received', async () => {
    const pubsub = (await call(urls.pubsub, '/stats')) as { invalidation: { transport: string; received: number; applied: number; listening: boolean } }
    const http = (await call(urls.streamHttp, '/stats')) as { invalidation: { transport: string; received: number; polls: number } }
    expect(pubsub.invalidation).toMatchObject({ transport: 'pubsub', listening: true })
    expect(pubsub.invalidation.received).toBeGreaterThan(0)
    expect(pubsub.invalidation.applied).toBe(pubsub.invalidation.received)
    expect(http.invalidation.transport).toBe('stream')
    expect(http.invalidation.polls).toBeGreaterThan(0)
  })
})
