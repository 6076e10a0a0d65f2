/**
 * The L1 contract, as one suite every L1 adapter runs: `describeL1Conformance(name, make)`.
 */
import { describe, expect, it } from 'vitest'
import type { L1Entry, L1Store } from '../../src/index.js'

/** The fields of the L1Entry contract (a store may return its own object carrying them). */
function fields(entry: L1Entry | undefined): Record<string, unknown> | undefined {
  if (entry === undefined) return undefined
  const { value, expiresAt, staleUntil, refreshAt, tags } = entry
  return tags === undefined ? { value, expiresAt, staleUntil, refreshAt } : { value, expiresAt, staleUntil, refreshAt, tags }
}

export function describeL1Conformance(name: string, make: (max: number) => L1Store): void {
  describe(`L1 contract: ${name}`, () => {
    it('is an l1 store with a name and an unclaimed owner', () => {
      const store = make(10)
      expect(store.kind).toBe('l1')
      expect(store.name.length).toBeGreaterThan(0)
      expect(store.owner).toBeUndefined()
      expect(store.maxTtl).toBeGreaterThanOrEqual(0)
    })

    it('gets what was set, and undefined for absent keys', () => {
      const store = make(10)
      store.set('a', { value: { n: 1 }, expiresAt: 123, staleUntil: 123, refreshAt: Infinity })
      expect(fields(store.get('a'))).toEqual({ value: { n: 1 }, expiresAt: 123, staleUntil: 123, refreshAt: Infinity })
      expect(store.get('b')).toBeUndefined()
      expect(store.size).toBe(1)
    })

    it('keeps every lifetime and the tags of an entry that has them, and drops them when replaced', () => {
      const store = make(10)
      store.set('g', { value: 'v', expiresAt: 100, staleUntil: 400, refreshAt: 80, tags: ['t1', 't2'] })
      expect(fields(store.get('g'))).toEqual({ value: 'v', expiresAt: 100, staleUntil: 400, refreshAt: 80, tags: ['t1', 't2'] })
      store.set('g', { value: 'w', expiresAt: 200, staleUntil: 200, refreshAt: Infinity })
      expect(fields(store.get('g'))).toEqual({ value: 'w', expiresAt: 200, staleUntil: 200, refreshAt: Infinity })
      store.set('g', { value: 'x', expiresAt: 300, staleUntil: 300, refreshAt: Infinity, tags: ['t3'] })
      expect(fields(store.get('g'))).toEqual({ value: 'x', expiresAt: 300, staleUntil: 300, refreshAt: Infinity, tags: ['t3'] })
    })

    it('treats keys that look like object properties as plain keys', () => {
      const store = make(10)
      for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
        expect(store.get(key)).toBeUndefined()
        store.set(key, { value: key, expiresAt: 1, staleUntil: 1, refreshAt: Infinity })
        expect(store.get(key)?.value).toBe(key)
      }
    })

    it('deletes and clears', () => {
      const store = make(10)
      store.set('a', { value: 1, expiresAt: 1, staleUntil: 1, refreshAt: Infinity })
      store.set('b', { value: 2, expiresAt: 1, staleUntil: 1, refreshAt: Infinity })
      store.delete('a')
      store.delete('never')
      expect(store.get('a')).toBeUndefined()
      expect(store.get('b')?.value).toBe(2)
      store.clear()
      expect(store.get('b')).toBeUndefined()
      expect(store.size).toBe(0)
    })

    it('evicts the least recently used entry past max', () => {
      const store = make(3)
      store.set('a', { value: 1, expiresAt: 1, staleUntil: 1, refreshAt: Infinity })
      store.set('b', { value: 2, expiresAt: 1, staleUntil: 1, refreshAt: Infinity })
      store.set('c', { value: 3, expiresAt: 1, staleUntil: 1, refreshAt: Infinity })
      store.get('a') // a is now most recently used
      store.set('d', { value: 4, expiresAt: 1, staleUntil: 1, refreshAt: Infinity })
      expect(store.get('b')).toBeUndefined()
      expect(store.get('a')?.value).toBe(1)
      expect(store.get('c')?.value).toBe(3)
      expect(store.get('d')?.value).toBe(4)
      expect(store.size).toBe(3)
    })

    it('replaces an entry set twice', () => {
      const store = make(3)
      store.set('a', { value: 1, expiresAt: 1, staleUntil: 1, refreshAt: Infinity })
      store.set('a', { value: 2, expiresAt: 5, staleUntil: 5, refreshAt: Infinity })
      expect(fields(store.get('a'))).toEqual({ value: 2, expiresAt: 5, staleUntil: 5, refreshAt: Infinity })
      expect(store.size).toBe(1)
    })
  })
}
