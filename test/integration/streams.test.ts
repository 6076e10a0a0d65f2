import { describe, expect, it } from 'vitest'
import { createCache, type TierCache } from '../../runtimes/default.js'
import { memoryStore } from '../../adapters/memory.js'
import { upstash } from '../../adapters/upstash.js'
import type { L2Store } from '../../src/index.js'
import { useBridge } from '../support/bridge.js'
import { sleep, testRedis, trackCaches, uniqueName } from '../support/helpers.js'

const track = trackCaches()
const bridge = useBridge()

const stores: [string, () => L2Store][] = [
  ['redis (TCP)', () => testRedis()],
  ['upstash (HTTP)', () => upstash({ url: bridge().url, token: bridge().token })],
  ['memoryStore', () => memoryStore()],
]

describe.each(stores)('cache.streams over %s', (_name, store) => {
  it('publishes, reads the latest, and reads after an id', async () => {
    const cache: TierCache = track(createCache({ namespace: uniqueName(), l2: store(), invalidation: false }))
    const stream = `streams-test:${uniqueName()}`
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push(await cache.streams.publish(stream, { n: String(i), text: `ünï ${i}` }, { maxLen: 100 }))
    expect(ids.every((id) => /^\d+-\d+$/.test(id))).toBe(true)
    const latest = await cache.streams.readLatest(stream, 2)
    expect(latest.map((e) => e.fields.n)).toEqual(['4', '3'])
    expect(latest[0]).toEqual({ id: ids[4], fields: { n: '4', text: 'ünï 4' } })
    const after = await cache.streams.read(stream, { after: ids[1]!, count: 10 })
    expect(after.map((e) => e.fields.n)).toEqual(['2', '3', '4'])
    expect(await cache.streams.read(stream, { after: ids[4]!, count: 10 })).toEqual([])
  })

  it('read with block waits for the next entry', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: store(), invalidation: false }))
    const stream = `streams-test:${uniqueName()}`
    const first = await cache.streams.publish(stream, { n: '0' })
    const waiting = cache.streams.read(stream, { after: first, count: 10, block: 3000 })
    await sleep(100)
    await cache.streams.publish(stream, { n: '1' })
    expect((await waiting).map((e) => e.fields.n)).toEqual(['1'])
  })

  it('trims to about maxLen', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: store(), invalidation: false }))
    const stream = `streams-test:${uniqueName()}`
    for (let i = 0; i < 250; i++) await cache.streams.publish(stream, { n: String(i) }, { maxLen: 10 })
    const all = await cache.streams.read(stream, { after: '0', count: 1000 })
    expect(all.length).toBeLessThan(250)
    expect(all.at(-1)?.fields.n).toBe('249')
  })

  it('rejects bad input with typed errors', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: store(), invalidation: false }))
    await expect(cache.streams.publish('', { a: 'b' })).rejects.toMatchObject({ code: 'E_INVALID_KEY' })
    await expect(cache.streams.publish('s', {})).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
    await expect(cache.streams.publish('s', { a: 1 as unknown as string })).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
    await expect(cache.streams.readLatest('s', 0)).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
  })
})

describe('cache.streams without a stream-capable tier', () => {
  it('is a clear E_UNSUPPORTED error', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: false }))
    await expect(cache.streams.publish('s', { a: 'b' })).rejects.toMatchObject({ code: 'E_UNSUPPORTED' })
  })
})
