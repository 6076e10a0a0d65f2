import { describe, expect, it } from 'vitest'
import { lru } from '../../adapters/lru.js'
import { describeL1Conformance } from './l1.js'

describeL1Conformance('lru()', (max) => lru({ max }))
describeL1Conformance('lru({ clone: true })', (max) => lru({ max, clone: true }))

describe('lru() specifics', () => {
  it('returns the stored reference by default', () => {
    const store = lru()
    const value = { n: 1 }
    store.set('a', { value, expiresAt: 1, staleUntil: 1, refreshAt: Infinity })
    expect(store.get('a')?.value).toBe(value)
  })

  it('returns copies with clone: true, so callers cannot mutate the cached value', () => {
    const store = lru({ clone: true })
    const value = { n: 1, at: new Date(5) }
    store.set('a', { value, expiresAt: 1, staleUntil: 1, refreshAt: Infinity })
    value.n = 2
    const first = store.get('a')?.value as { n: number; at: Date }
    expect(first).toEqual({ n: 1, at: new Date(5) })
    first.n = 3
    expect((store.get('a')?.value as { n: number }).n).toBe(1)
  })

  it('reports its ttl cap and rejects bad options', () => {
    expect(lru({ ttl: '1m' }).maxTtl).toBe(60_000)
    expect(lru().maxTtl).toBe(0)
    expect(() => lru({ max: 0 })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'lru.max' }))
    expect(() => lru({ ttl: 'soon' })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'lru.ttl' }))
    expect(() => lru({ clone: 'yes' as unknown as boolean })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION' }))
  })
})
