import { describe, expect, it } from 'vitest'
import { createCache, errors } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { memoryStore } from '../../adapters/memory.js'
import { backends } from '../support/backends.js'
import { fakeClock, sleep, trackCaches, uniqueName } from '../support/helpers.js'

const track = trackCaches()

describe.each(backends)('negative caching over $name', ({ shared }) => {
  it('stores a loader null for nullTtl and reads it back as a hit of null', async () => {
    const namespace = uniqueName()
    const l2 = shared()
    const cache = track(createCache({ namespace, l2: l2(), nullTtl: '200ms', jitter: 0 }))
    let calls = 0
    const loader = async () => (calls++, null)
    expect(await cache.getOrLoad('missing', loader)).toBeNull()
    expect(await cache.getOrLoad('missing', loader)).toBeNull()
    expect(calls).toBe(1)
    const other = track(createCache({ namespace, l1: false, l2: l2() }))
    expect(await other.get('missing')).toBeNull() // a hit of null in L2, not undefined
    expect(other.stats()).toMatchObject({ hits: 1, misses: 0 })
    await sleep(300)
    expect(await cache.getOrLoad('missing', loader)).toBeNull()
    expect(calls).toBe(2)
  })

  it('a per-call nullTtl overrides the cache default', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()(), nullTtl: '1h', jitter: 0 }))
    await cache.getOrLoad('k', () => null, { nullTtl: '100ms' })
    await sleep(200)
    let called = false
    await cache.getOrLoad('k', () => ((called = true), 'now present'))
    expect(called).toBe(true)
  })

  it('a loader returning undefined is an E_LOADER_RESULT error and nothing is cached', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const err = await cache.getOrLoad('k', async () => undefined).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(errors.LoaderResultError)
    expect(err).toMatchObject({ code: 'E_LOADER_RESULT', key: 'k' })
    expect((err as Error).message).toMatch(/return null/)
    expect(await cache.get('k', { disableLoad: true })).toBeUndefined()
    expect(cache.stats().loadErrors).toBe(1)
  })
})

describe('nullTtl default', () => {
  it('is 30 seconds', async () => {
    const clock = fakeClock()
    const cache = createCache({ namespace: 'n', l1: lru(), l2: memoryStore({ clock }), clock, jitter: 0 })
    await cache.getOrLoad('k', () => null)
    clock.advance(29_999)
    expect(await cache.get('k')).toBeNull()
    clock.advance(2)
    expect(await cache.get('k')).toBeUndefined()
  })
})
