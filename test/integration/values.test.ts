import { describe, expect, it } from 'vitest'
import { createCache, errors } from '../../runtimes/default.js'
import { backends } from '../support/backends.js'
import { testRedis, trackCaches, uniqueName } from '../support/helpers.js'

const track = trackCaches()

describe.each(backends)('values through $name', ({ shared }) => {
  it('JSON, Date, Map, Set, BigInt, Uint8Array, unicode and 1 MB values round-trip through L2', async () => {
    const namespace = uniqueName()
    const l2 = shared()
    const writer = track(createCache({ namespace, l1: false, l2: l2() }))
    const reader = track(createCache({ namespace, l1: false, l2: l2() }))
    const bytes = new Uint8Array(256)
    bytes.forEach((_, i) => (bytes[i] = i))
    const values: Record<string, unknown> = {
      json: { a: [1, 'two', { three: true }], n: null },
      date: new Date('2030-01-02T03:04:05.006Z'),
      map: new Map<unknown, unknown>([['a', 1], [2, new Date(7)]]),
      set: new Set(['x', 1n]),
      bigint: 2n ** 70n,
      bytes,
      unicode: 'ünïcødé ☃ 𝄞 日本語 \u0000 end',
      large: 'é'.repeat(512 * 1024), // 1 MB of UTF-8
      zero: 0,
      empty: '',
      falsy: false,
    }
    for (const [key, value] of Object.entries(values)) await writer.set(key, value)
    for (const [key, value] of Object.entries(values)) expect(await reader.get(key)).toEqual(value)
  })

  it('refuses an unserializable value at set, and writes nothing', async () => {
    const namespace = uniqueName()
    const l2 = shared()
    const cache = track(createCache({ namespace, l2: l2() }))
    const other = track(createCache({ namespace, l1: false, l2: l2() }))
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    for (const bad of [{ fn: () => 1 }, { s: Symbol('x') }, cyclic]) {
      const err = await cache.set('bad', bad).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(errors.UnserializableError)
      expect(err).toMatchObject({ code: 'E_UNSERIALIZABLE', key: 'bad', namespace })
    }
    expect(await cache.get('bad')).toBeUndefined()
    expect(await other.get('bad')).toBeUndefined()
  })

  it('refuses undefined with E_INVALID_VALUE', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    await expect(cache.set('k', undefined)).rejects.toMatchObject({ code: 'E_INVALID_VALUE', key: 'k' })
  })

  it('mset checks every entry before writing any', async () => {
    const namespace = uniqueName()
    const cache = track(createCache({ namespace, l2: shared()() }))
    await expect(cache.mset([['a', 1], ['b', { fn: () => 1 }]])).rejects.toMatchObject({ code: 'E_UNSERIALIZABLE', key: 'b' })
    await expect(cache.mset([['a', 1], ['b', undefined]])).rejects.toMatchObject({ code: 'E_INVALID_VALUE', key: 'b' })
    await expect(cache.mset([['a', 1], ['', 2]])).rejects.toMatchObject({ code: 'E_INVALID_KEY' })
    expect(await cache.get('a')).toBeUndefined()
  })
})

describe('a custom serializer', () => {
  it('is used for L2 and may be plain JSON', async () => {
    const store = testRedis()
    const namespace = uniqueName()
    const cache = createCache({ namespace, l1: false, l2: store, serializer: { name: 'json', serialize: JSON.stringify, deserialize: JSON.parse } })
    await cache.set('k', { a: 1 })
    expect(await (await store.client()).get(`tiercache:${namespace}:k`)).toMatch(/\|\{"a":1\}$/)
    expect(await cache.get('k')).toEqual({ a: 1 })
    await cache.clear()
    await cache.close()
  })

  it('a throwing serializer becomes E_UNSERIALIZABLE with the cause kept', async () => {
    const cause = new Error('nope')
    const cache = createCache({ namespace: uniqueName(), serializer: { serialize: () => { throw cause }, deserialize: JSON.parse } })
    await expect(cache.set('k', 1)).rejects.toMatchObject({ code: 'E_UNSERIALIZABLE', cause })
  })
})
