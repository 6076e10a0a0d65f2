import { describe, expect, it } from 'vitest'
import { defaultSerializer, errors } from '../../src/index.js'

const roundTrip = (value: unknown): unknown => defaultSerializer.deserialize(defaultSerializer.serialize(value))

describe('default serializer', () => {
  it('round-trips JSON values and uses plain JSON.parse for them', () => {
    const value = { s: 'x', n: 1.5, b: true, z: null, a: [1, 'two', { three: 3 }], nested: { deep: { deeper: [] } } }
    const text = defaultSerializer.serialize(value)
    expect(text.startsWith('j')).toBe(true)
    expect(roundTrip(value)).toEqual(value)
    expect(roundTrip('just a string')).toBe('just a string')
    expect(roundTrip(null)).toBeNull()
    expect(roundTrip(0)).toBe(0)
  })

  it('round-trips Date, Map, Set, BigInt, typed arrays and ArrayBuffer', () => {
    const value = {
      at: new Date('2024-02-29T12:34:56.789Z'),
      invalid: new Date(Number.NaN),
      map: new Map<unknown, unknown>([['a', 1], [2, new Set(['x'])], [{ k: 1 }, [new Date(0)]]]),
      set: new Set([1n, 'y']),
      big: 12345678901234567890n,
      bytes: new Uint8Array([0, 1, 254, 255]),
      floats: new Float64Array([1.5, -0.25]),
      buffer: new Uint8Array([9, 8]).buffer,
      special: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
      holes: [1, undefined, 3],
    }
    const text = defaultSerializer.serialize(value)
    expect(text.startsWith('t')).toBe(true)
    const back = roundTrip(value) as typeof value
    expect(back.at).toBeInstanceOf(Date)
    expect(back.at.toISOString()).toBe('2024-02-29T12:34:56.789Z')
    expect(Number.isNaN(back.invalid.getTime())).toBe(true)
    expect(back.map).toEqual(value.map)
    expect(back.set).toEqual(value.set)
    expect(back.big).toBe(12345678901234567890n)
    expect(back.bytes).toBeInstanceOf(Uint8Array)
    expect([...back.bytes]).toEqual([0, 1, 254, 255])
    expect(back.floats).toBeInstanceOf(Float64Array)
    expect([...back.floats]).toEqual([1.5, -0.25])
    expect(back.buffer).toBeInstanceOf(ArrayBuffer)
    expect([...new Uint8Array(back.buffer)]).toEqual([9, 8])
    expect(back.special).toEqual([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
    expect(back.holes[1]).toBeUndefined()
    expect(back.holes).toHaveLength(3)
  })

  it('round-trips a view into part of a larger buffer, and a Node Buffer as Uint8Array', () => {
    const big = new Uint8Array([1, 2, 3, 4, 5])
    expect([...(roundTrip(big.subarray(1, 3)) as Uint8Array)]).toEqual([2, 3])
    const back = roundTrip(Buffer.from('hi'))
    expect(back).toBeInstanceOf(Uint8Array)
    expect(new TextDecoder().decode(back as Uint8Array)).toBe('hi')
  })

  it('round-trips 1 MB of binary data', () => {
    const bytes = new Uint8Array(1024 * 1024)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff
    const back = roundTrip(bytes) as Uint8Array
    expect(back).toBeInstanceOf(Uint8Array)
    expect(back.length).toBe(bytes.length)
    expect(back.every((byte, i) => byte === bytes[i])).toBe(true)
  })

  it('keeps user objects that contain the tag key intact', () => {
    const value = { $t: 'D', v: '0', inner: { $t: 'M', v: [] }, list: [{ $t: 'u' }] }
    expect(roundTrip(value)).toEqual(value)
  })

  it('uses toJSON of other objects, like JSON.stringify', () => {
    const value = { money: { toJSON: () => '12.50 EUR' } }
    expect(roundTrip(value)).toEqual({ money: '12.50 EUR' })
  })

  it('refuses functions and symbols, naming where they sit', () => {
    const withFn = { user: { name: 'a', onClick: () => 1 } }
    expect(() => defaultSerializer.serialize(withFn)).toThrow(errors.UnserializableError)
    try {
      defaultSerializer.serialize(withFn)
    } catch (error) {
      expect(error).toMatchObject({ code: 'E_UNSERIALIZABLE', path: 'value.user.onClick' })
    }
    expect(() => defaultSerializer.serialize({ list: [1, Symbol('s')] })).toThrow(
      expect.objectContaining({ code: 'E_UNSERIALIZABLE', path: 'value.list[1]' }),
    )
    expect(() => defaultSerializer.serialize(new Map([['k', () => 1]]))).toThrow(expect.objectContaining({ code: 'E_UNSERIALIZABLE' }))
  })

  it('refuses cycles, naming where they close', () => {
    const value: Record<string, unknown> = { a: { b: {} } }
    ;(value.a as Record<string, Record<string, unknown>>).b!.back = value
    expect(() => defaultSerializer.serialize(value)).toThrow(expect.objectContaining({ code: 'E_UNSERIALIZABLE', path: 'value.a.b.back' }))
  })

  it('takes the careful path for deep plain values and still round-trips them', () => {
    let deep: unknown = 'leaf'
    for (let i = 0; i < 100; i++) deep = { d: [deep] }
    expect(roundTrip(deep)).toEqual(deep)
    expect(defaultSerializer.serialize(deep).startsWith('j')).toBe(true)
  })

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { n: 1 }
    expect(roundTrip({ a: shared, b: shared })).toEqual({ a: { n: 1 }, b: { n: 1 } })
  })

  it.each(['', 'x{}', 'j{not json', 't{"$t":"nope","v":1}', 't{"$t":"U","k":"Nope","v":""}'])('throws on foreign or corrupt text %j', (text) => {
    expect(() => defaultSerializer.deserialize(text)).toThrow()
  })
})
