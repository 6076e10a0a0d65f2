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

  it('keeps the order of a reference LRU through 20,000 random gets, sets and deletes', () => {
    const max = 16
    const store = lru({ max })
    const model: string[] = [] // least recently used first
    const touch = (key: string): void => {
      model.splice(model.indexOf(key), 1)
      model.push(key)
    }
    let seed = 42
    const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n)
    for (let step = 0; step < 20_000; step++) {
      const key = `k${random(40)}`
      const op = random(10)
      if (op < 5) {
        const got = store.get(key)
        expect(got?.value).toBe(model.includes(key) ? key : undefined)
        if (model.includes(key)) touch(key)
      } else if (op < 9) {
        store.set(key, { value: key, expiresAt: step, staleUntil: step, refreshAt: Infinity })
        if (model.includes(key)) touch(key)
        else {
          model.push(key)
          if (model.length > max) model.shift()
        }
      } else {
        store.delete(key)
        if (model.includes(key)) model.splice(model.indexOf(key), 1)
      }
      expect(store.size).toBe(model.length)
    }
    // what is left is exactly the model's keys
    for (let i = 0; i < 40; i++) expect(store.get(`k${i}`)?.value).toBe(model.includes(`k${i}`) ? `k${i}` : undefined)
  })

  it('reports its ttl cap and rejects bad options', () => {
    expect(lru({ ttl: '1m' }).maxTtl).toBe(60_000)
    expect(lru().maxTtl).toBe(0)
    expect(() => lru({ max: 0 })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'lru.max' }))
    expect(() => lru({ ttl: 'soon' })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'lru.ttl' }))
    expect(() => lru({ clone: 'yes' as unknown as boolean })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION' }))
  })
})
