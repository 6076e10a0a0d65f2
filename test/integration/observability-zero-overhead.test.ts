import { describe, expect, it, vi } from 'vitest'

// Any import of @opentelemetry/api in this file's module graph would run this factory: it
// stands for "the package is not installed" and records that someone tried.
const loaded = vi.hoisted(() => ({ count: 0 }))
vi.mock('@opentelemetry/api', () => {
  loaded.count++
  throw new Error('Cannot find package @opentelemetry/api')
})

const { createCache } = await import('../../runtimes/default.js')
const { lru } = await import('../../adapters/lru.js')
const { memoryStore } = await import('../../adapters/memory.js')
const { otel } = await import('../../adapters/otel.js')
const { TierCache } = await import('../../src/index.js')
const { uniqueName } = await import('../support/helpers.js')

describe('without OpenTelemetry or a dashboard', () => {
  it('runs no instrumentation: the class methods are untouched and no OpenTelemetry code is loaded', async () => {
    const cache = createCache({ namespace: uniqueName('zero'), l1: lru(), l2: memoryStore() })
    await cache.set('a', 1)
    await cache.get('a')
    await cache.getOrLoad('b', () => 2)
    await cache.mget(['a', 'b'])
    await cache.mgetOrLoad(['c'], (keys) => Object.fromEntries(keys.map((k) => [k, k])))
    await cache.delete('a')

    for (const method of ['get', 'getOrLoad', 'mget', 'mgetOrLoad', 'set', 'mset', 'delete', 'mdelete'] as const) {
      expect(Object.hasOwn(cache, method), method).toBe(false)
      expect(cache[method]).toBe(TierCache.prototype[method])
    }
    expect(cache.latency()).toEqual([])
    expect(cache.diagnostics().instrumented).toBe(false)
    expect(cache.prometheus()).not.toContain('tiercache_operation_duration_seconds')
    expect(loaded.count).toBe(0)
    await cache.close()
  })

  it('tiercache/otel leaves caches untouched when @opentelemetry/api is not installed', async () => {
    const cache = createCache({ namespace: uniqueName('zero'), l1: lru(), l2: false })
    expect(await otel(cache)).toBeUndefined()
    expect(loaded.count).toBe(1) // it tried, and found nothing
    expect(Object.hasOwn(cache, 'get')).toBe(false)
    expect(cache.diagnostics().instrumented).toBe(false)
    await cache.get('x')
    expect(cache.latency()).toEqual([])
    await cache.close()
  })

  it('instrument() is what turns timing on, and only for that cache', async () => {
    const plain = createCache({ namespace: uniqueName('zero'), l1: lru(), l2: false })
    const timed = createCache({ namespace: uniqueName('zero'), l1: lru(), l2: false })
    const records: string[] = []
    const detach = timed.instrument({ end: (_token, r) => records.push(`${r.operation}:${r.tier}:${r.result}`) })
    await timed.set('a', 1)
    await timed.get('a')
    await timed.get('zz')
    await plain.get('a')
    expect(records).toEqual(['set:all:ok', 'get:l1:hit', 'get:none:miss'])
    expect(Object.hasOwn(timed, 'get')).toBe(true)
    expect(Object.hasOwn(plain, 'get')).toBe(false)
    detach()
    await timed.get('a')
    expect(records).toHaveLength(3)
    expect(timed.latency().find((s) => s.operation === 'get' && s.tier === 'l1')?.count).toBe(2) // timing goes on for latency()
    await Promise.all([plain.close(), timed.close()])
  })
})
