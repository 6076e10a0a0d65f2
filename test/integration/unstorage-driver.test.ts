import { createStorage } from 'unstorage'
import { describe, expect, it } from 'vitest'
import { tiercacheDriver } from '../../adapters/unstorage.js'
import { lru } from '../../adapters/lru.js'
import { memoryStore } from '../../adapters/memory.js'
import { createCache, errors } from '../../runtimes/default.js'
import { counting, fakeClock, trackCaches, uniqueName } from '../support/helpers.js'

const track = trackCaches()

/** A cache over a shared L2, a storage over the cache, and a second cache reading the same L2. */
function setup(options: { clock?: ReturnType<typeof fakeClock> } = {}) {
  const namespace = uniqueName('drv')
  const l2 = memoryStore({ clock: options.clock })
  const { store, counts } = counting(l2)
  const cache = track(createCache({ namespace, l1: lru(), l2: store, jitter: 0, clock: options.clock }))
  const peer = track(createCache({ namespace, l1: false, l2, jitter: 0, clock: options.clock }))
  const storage = createStorage({ driver: tiercacheDriver(cache) })
  return { cache, peer, storage, counts }
}

describe('tiercacheDriver', () => {
  it('stores what unstorage hands it: objects come back parsed through unstorage, as JSON text through the cache', async () => {
    const { cache, peer, storage } = setup()
    await storage.setItem('user:1', { name: 'Ada', tags: ['x'] })
    await storage.setItem('greeting', 'hello')
    await storage.setItem('count', 42)
    expect(await storage.getItem('user:1')).toEqual({ name: 'Ada', tags: ['x'] })
    expect(await storage.getItem('greeting')).toBe('hello')
    expect(await storage.getItem('count')).toBe(42)
    expect(await cache.get('user:1')).toBe('{"name":"Ada","tags":["x"]}')
    expect(await cache.get('greeting')).toBe('hello')
    expect(await cache.get('count')).toBe('42')
    // it went through the engine into L2: a cache without L1 reads it too
    expect(await peer.get('user:1')).toBe('{"name":"Ada","tags":["x"]}')
  })

  it('returns values the cache was given directly as they are', async () => {
    const { cache, storage } = setup()
    const map = new Map([['a', 1]])
    await cache.set('map', map)
    await cache.set('obj', { n: 1 })
    expect(await storage.getItem('map')).toBe(map)
    expect(await storage.getItem('obj')).toEqual({ n: 1 })
  })

  it('sees the key unstorage normalized: separators become ":", edges and "?…" are dropped, a mount base is removed', async () => {
    const { cache, storage } = setup()
    await storage.setItem('a/b\\c', 'x')
    await storage.setItem(':lead:', 'y')
    await storage.setItem('q?ignored=1', 'z')
    expect(await cache.get('a:b:c')).toBe('x')
    expect(await cache.get('lead')).toBe('y')
    expect(await cache.get('q')).toBe('z')
    expect(await storage.getItem('a:b:c')).toBe('x')

    const other = setup()
    const mounted = createStorage().mount('cache', tiercacheDriver(other.cache))
    await mounted.setItem('cache:page/home', 'html')
    await mounted.setItem('elsewhere', 'not cached')
    expect(await other.cache.get('page:home')).toBe('html')
    expect(await other.cache.get('elsewhere')).toBeUndefined()
  })

  it('getItems is one batch read through the cache, with null for absent keys', async () => {
    const { cache, storage, counts } = setup()
    await cache.mset([['a', 'A'], ['b', { b: true }]])
    const before = counts.mget
    const items = await storage.getItems(['a', 'absent', 'b'])
    expect(items).toEqual([
      { key: 'a', value: 'A' },
      { key: 'absent', value: null },
      { key: 'b', value: { b: true } },
    ])
    // a and b were L1 hits; absent went to L2 in one mget
    expect(counts.mget - before).toBe(1)
    expect(counts.get).toBe(0)
  })

  it('hasItem is false for absent keys and for negative (null) entries', async () => {
    const { cache, storage } = setup()
    await storage.setItem('here', 'v')
    await cache.set('negative', null)
    expect(await storage.hasItem('here')).toBe(true)
    expect(await storage.hasItem('absent')).toBe(false)
    expect(await storage.hasItem('negative')).toBe(false)
    expect(await storage.getItem('negative')).toBeNull()
  })

  it('removeItem deletes from every tier', async () => {
    const { cache, peer, storage } = setup()
    await storage.setItem('gone', 'v')
    expect(await peer.get('gone')).toBe('v')
    await storage.removeItem('gone')
    expect(await cache.get('gone')).toBeUndefined()
    expect(await peer.get('gone')).toBeUndefined()
    expect(await storage.hasItem('gone')).toBe(false)
  })

  it('clear empties the cache namespace and leaves other namespaces on the same L2 alone', async () => {
    const l2 = memoryStore()
    const cache = track(createCache({ namespace: uniqueName('drv'), l1: lru(), l2 }))
    const neighbour = track(createCache({ namespace: uniqueName('drv'), l1: lru(), l2 }))
    const storage = createStorage({ driver: tiercacheDriver(cache) })
    await storage.setItem('a', 1)
    await storage.setItem('b:c', 2)
    await neighbour.set('a', 'keep')
    await storage.clear()
    expect(await storage.getItem('a')).toBeNull()
    expect(await cache.get('b:c')).toBeUndefined()
    expect(await neighbour.get('a')).toBe('keep')
    expect(l2.size).toBe(1)
  })

  it('honours { ttl } in seconds on setItem and setItems, else the cache ttl', async () => {
    const clock = fakeClock()
    const { storage, peer } = setup({ clock })
    await storage.setItem('one', 'v', { ttl: 1 })
    await storage.setItems([{ key: 'two', value: 'v', options: { ttl: 2 } }, { key: 'common', value: 'v' }], { ttl: 3 })
    await storage.setItem('default', 'v')
    clock.advance(999)
    expect(await storage.hasItem('one')).toBe(true)
    clock.advance(1)
    expect(await storage.hasItem('one')).toBe(false)
    expect(await peer.get('one')).toBeUndefined()
    expect(await storage.getItem('two')).toBe('v')
    clock.advance(1000)
    expect(await storage.getItem('two')).toBeNull()
    expect(await storage.getItem('common')).toBe('v')
    clock.advance(1000)
    expect(await storage.getItem('common')).toBeNull()
    expect(await storage.getItem('default')).toBe('v') // the cache's ttl: 5 min
    clock.advance(5 * 60_000)
    expect(await storage.getItem('default')).toBeNull()
  })

  it('refuses a bad ttl and a non-cache argument with E_INVALID_OPTION', async () => {
    const { storage } = setup()
    await expect(storage.setItem('k', 'v', { ttl: -1 })).rejects.toMatchObject({ code: 'E_INVALID_OPTION', option: 'ttl' })
    await expect(storage.setItem('k', 'v', { ttl: '1m' })).rejects.toBeInstanceOf(errors.InvalidOptionError)
    expect(await storage.hasItem('k')).toBe(false)
    for (const bad of [null, undefined, {}, memoryStore(), 'cache']) {
      expect(() => tiercacheDriver(bad as never)).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'tiercacheDriver' }))
    }
  })

  it('stores raw bytes with setItemRaw', async () => {
    const { peer, storage } = setup()
    const bytes = Uint8Array.from([0, 1, 2, 250, 255])
    await storage.setItemRaw('bin', bytes)
    expect(await storage.getItemRaw('bin')).toEqual(bytes)
    expect(await peer.get('bin')).toEqual(bytes)
  })

  it('lists no keys (a cache cannot), exposes the cache, and leaves it open on dispose', async () => {
    const { cache, storage } = setup()
    await storage.setItem('a', 'v')
    expect(await storage.getKeys()).toEqual([])
    expect(storage.getMount().driver.name).toBe('tiercache')
    expect(storage.getMount().driver.getInstance?.()).toBe(cache)
    await storage.dispose()
    expect(await cache.get('a')).toBe('v')
  })
})
