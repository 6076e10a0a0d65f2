import { Redis } from '@upstash/redis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createCache } from '../../runtimes/default.js'
import { upstash } from '../../adapters/upstash.js'
import { startBridge, type RunningBridge } from '../support/bridge.js'
import { freePort } from '../support/redis-server.js'
import { uniqueName } from '../support/helpers.js'

let running: RunningBridge
beforeAll(async () => {
  running = await startBridge(inject('redisUrl'))
})
afterAll(async () => {
  await running.close()
})

const total = (): number => [...running.requests.values()].reduce((a, b) => a + b, 0)

describe('upstash() over the bridge', () => {
  it('mget is one request, mset one /pipeline, mdelete one request, whatever the batch size', async () => {
    const cache = createCache({ namespace: uniqueName(), l1: false, l2: upstash({ url: running.url, token: running.token }) })
    const entries = Array.from({ length: 100 }, (_, i) => [`k${i}`, { i }] as const)
    let before = running.requests.get('/pipeline') ?? 0
    const all = total()
    await cache.mset(entries)
    expect((running.requests.get('/pipeline') ?? 0) - before).toBe(1)
    expect(total() - all).toBe(1)

    before = total()
    const values = await cache.mget(entries.map(([key]) => key))
    expect(total() - before).toBe(1)
    expect(values.get('k99')).toEqual({ i: 99 })

    before = total()
    await cache.mdelete(entries.map(([key]) => key))
    expect(total() - before).toBe(1)
    expect((await cache.mget(['k0', 'k50'])).get('k50')).toBeUndefined()
    await cache.close()
  })

  it('accepts your own @upstash/redis client, with automatic deserialization on', async () => {
    const client = new Redis({ url: running.url, token: running.token, enableTelemetry: false })
    const cache = createCache({ namespace: uniqueName(), l1: false, l2: upstash({ client }) })
    for (const value of ['{"looks":"like json"}', '42', 'true', { real: 'object' }, [1, 2], null]) {
      await cache.set('k', value)
      expect(await cache.get('k')).toEqual(value)
    }
    await cache.clear()
    await cache.close()
  })

  it('takes url and token from the environment: UPSTASH_REDIS_REST_*, then KV_REST_API_*', async () => {
    const fromUpstash = upstash({ env: { UPSTASH_REDIS_REST_URL: running.url, UPSTASH_REDIS_REST_TOKEN: running.token, KV_REST_API_URL: 'http://wrong.invalid' } })
    const fromKv = upstash({ env: { KV_REST_API_URL: running.url, KV_REST_API_TOKEN: running.token } })
    const key = `env:${uniqueName()}`
    await fromUpstash.set(key, 'v', 10_000)
    expect(await fromKv.get(key)).toBe('v')
    await fromKv.delete([key])
  })

  it('rejects missing or malformed settings when it is built', () => {
    expect(() => upstash({ env: {} })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'upstash.url' }))
    expect(() => upstash({ env: { UPSTASH_REDIS_REST_URL: running.url } })).toThrow(expect.objectContaining({ option: 'upstash.token' }))
    expect(() => upstash({ url: 'redis://x', token: 't' })).toThrow(expect.objectContaining({ option: 'upstash.url' }))
    expect(() => upstash({ url: running.url, token: 't', retries: -1 })).toThrow(expect.objectContaining({ option: 'upstash.retries' }))
    expect(() => upstash({ client: {} as never })).toThrow(expect.objectContaining({ option: 'upstash.client' }))
  })

  it('an unreachable endpoint is an L2 error the cache absorbs, within about a second', async () => {
    const port = await freePort()
    const cache = createCache({ namespace: uniqueName(), l2: upstash({ url: `http://127.0.0.1:${port}`, token: 't' }) })
    const started = Date.now()
    expect(await cache.getOrLoad('k', () => 'loaded')).toBe('loaded')
    expect(Date.now() - started).toBeLessThan(3000)
    expect(cache.stats().l2Errors).toBeGreaterThanOrEqual(1)
  })

  it('a wrong token is an L2 error too, not a crash', async () => {
    const cache = createCache({ namespace: uniqueName(), l2: upstash({ url: running.url, token: 'not-the-token' }) })
    expect(await cache.getOrLoad('k', () => 'loaded')).toBe('loaded')
    expect(cache.stats().l2Errors).toBeGreaterThanOrEqual(1)
  })
})
