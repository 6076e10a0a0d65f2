/**
 * The L2 contract, as one suite every L2 adapter runs: `describeL2Conformance(name, make)`.
 * `make` returns a fresh store; the suite works under its own random prefix and cleans up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { L2Store } from '../../src/index.js'
import { sleep, uniqueName } from '../support/helpers.js'

/** Optional capabilities a store declares; the suite checks that declared ones work and absent ones are absent. */
export interface L2Capabilities {
  /** Tag sets (`L2Write.tagKeys`, `deleteTag`). */
  tags: boolean
  /** The invalidation bus (`bus()`), and whether it holds a Pub/Sub connection. */
  bus: boolean
  pubsub: boolean
}

export function describeL2Conformance(
  name: string,
  make: () => L2Store | Promise<L2Store>,
  capabilities: L2Capabilities = { tags: true, bus: true, pubsub: true },
): void {
  describe(`L2 contract: ${name}`, () => {
    let store: L2Store
    const prefix = `${uniqueName('conf')}:`
    const k = (key: string): string => prefix + key

    beforeAll(async () => {
      store = await make()
    })
    afterAll(async () => {
      await store.clear(prefix)
      await store.close?.()
    })

    it('is an l2 store with a name', () => {
      expect(store.kind).toBe('l2')
      expect(typeof store.name).toBe('string')
      expect(store.name.length).toBeGreaterThan(0)
    })

    it('returns null for an absent key', async () => {
      expect(await store.get(k('absent'))).toBeNull()
    })

    it('round-trips strings byte-exact: ascii, unicode, empty, 1 MB', async () => {
      const values = ['plain', 'ünïcødé ☃ 𝄞 日本語', '', 'x'.repeat(1024 * 1024), 'pipes|and\nnewlines\r\n"quotes"']
      for (const [i, value] of values.entries()) {
        await store.set(k(`rt${i}`), value, 10_000)
        expect(await store.get(k(`rt${i}`))).toBe(value)
      }
    })

    it('expires a key after its ttl', async () => {
      await store.set(k('short'), 'v', 60)
      expect(await store.get(k('short'))).toBe('v')
      await sleep(150)
      expect(await store.get(k('short'))).toBeNull()
    })

    it('overwrites value and ttl', async () => {
      await store.set(k('ow'), 'one', 60)
      await store.set(k('ow'), 'two', 10_000)
      await sleep(150)
      expect(await store.get(k('ow'))).toBe('two')
    })

    it('mget answers in key order with null for absent keys', async () => {
      // every adapter of this project batches: one round trip per mget
      expect(typeof store.mget).toBe('function')
      await store.set(k('m1'), 'a', 10_000)
      await store.set(k('m3'), 'c', 10_000)
      expect(await store.mget!([k('m1'), k('m2'), k('m3'), k('m1')])).toEqual(['a', null, 'c', 'a'])
      expect(await store.mget!([])).toEqual([])
    })

    it('mset writes every entry with its own ttl', async () => {
      expect(typeof store.mset).toBe('function')
      await store.mset!([
        { key: k('ms1'), value: 'x', ttl: 10_000 },
        { key: k('ms2'), value: 'y', ttl: 60 },
      ])
      expect(await store.get(k('ms1'))).toBe('x')
      expect(await store.get(k('ms2'))).toBe('y')
      await sleep(150)
      expect(await store.get(k('ms1'))).toBe('x')
      expect(await store.get(k('ms2'))).toBeNull()
      await store.mset!([])
    })

    it('deletes one or many keys, and absent keys without error', async () => {
      await store.set(k('d1'), '1', 10_000)
      await store.set(k('d2'), '2', 10_000)
      await store.set(k('d3'), '3', 10_000)
      await store.delete([k('d1')])
      expect(await store.get(k('d1'))).toBeNull()
      await store.delete([k('d2'), k('d3'), k('never')])
      expect(await store.get(k('d2'))).toBeNull()
      expect(await store.get(k('d3'))).toBeNull()
      await store.delete([])
    })

    it('clear removes exactly the keys under the prefix, glob characters included', async () => {
      const sub = `${prefix}c*[x]?:`
      const lookalike = `${prefix}cX[x]Z:`
      const other = `${prefix}other:`
      for (let i = 0; i < 25; i++) await store.set(`${sub}${i}`, String(i), 10_000)
      await store.set(`${lookalike}1`, 'keep', 10_000)
      await store.set(`${other}1`, 'keep', 10_000)
      expect(await store.clear(sub)).toBe(25)
      expect(await store.get(`${sub}3`)).toBeNull()
      expect(await store.get(`${lookalike}1`)).toBe('keep')
      expect(await store.get(`${other}1`)).toBe('keep')
      expect(await store.clear(sub)).toBe(0)
    })

    it(`declares its capabilities: tags ${capabilities.tags}, bus ${capabilities.bus}, pubsub ${capabilities.pubsub}`, () => {
      expect(typeof store.deleteTag === 'function').toBe(capabilities.tags)
      expect(typeof store.bus === 'function').toBe(capabilities.bus)
      if (capabilities.bus) expect(typeof store.bus!(`${prefix}s`, `${prefix}c`, 100).subscribe === 'function').toBe(capabilities.pubsub)
    })

    if (capabilities.tags) {
      it('tags: a write joins its tag sets; deleteTag removes exactly the members', async () => {
        await store.mset!([
          { key: k('tg1'), value: '1', ttl: 10_000, tagKeys: [k('tag:red')] },
          { key: k('tg2'), value: '2', ttl: 10_000, tagKeys: [k('tag:red'), k('tag:blue')] },
          { key: k('tg3'), value: '3', ttl: 10_000, tagKeys: [k('tag:blue')] },
        ])
        expect(await store.deleteTag!(k('tag:red'))).toBe(2)
        expect(await store.get(k('tg1'))).toBeNull()
        expect(await store.get(k('tg2'))).toBeNull()
        expect(await store.get(k('tg3'))).toBe('3')
        expect(await store.deleteTag!(k('tag:red'))).toBe(0)
        expect(await store.deleteTag!(k('tag:never'))).toBe(0)
      })
    }

    if (capabilities.bus) {
      it('bus: head names a real entry; read returns what was published after the cursor, in order', async () => {
        const bus = store.bus!(`${prefix}bus`, `${prefix}bus`, 1000)
        const head = await bus.head()
        expect(head).toMatch(/^\d+-\d+$/)
        expect(await bus.head()).toBe(head) // a second head does not add another marker
        const ids = [await bus.publish('one'), await bus.publish('two|with bar'), await bus.publish('ünï')]
        const read = await bus.read(head, 10)
        expect(read.found).toBe(true)
        expect(read.entries).toEqual([{ id: ids[0], message: 'one' }, { id: ids[1], message: 'two|with bar' }, { id: ids[2], message: 'ünï' }])
        expect((await bus.read(ids[2]!, 10)).entries).toEqual([])
        expect((await bus.read(ids[0]!, 1)).entries).toEqual([{ id: ids[1], message: 'two|with bar' }])
        const lost = await bus.read('1-0', 10) // an id that was never in the stream
        expect(lost.found).toBe(false)
        await store.delete([`${prefix}bus`])
      })
    }

    if (capabilities.pubsub) {
      it('bus: subscribers receive each published message with its stream id', async () => {
        const bus = store.bus!(`${prefix}ps`, `${prefix}ps`, 1000)
        const got: [string, string][] = []
        let ready = 0
        const unsubscribe = await bus.subscribe!((id, message) => got.push([id, message]), () => ready++, () => undefined)
        expect(ready).toBeGreaterThanOrEqual(1)
        const id = await bus.publish('hello|world')
        const deadline = Date.now() + 2000
        while (got.length === 0 && Date.now() < deadline) await sleep(10)
        expect(got).toEqual([[id, 'hello|world']])
        await unsubscribe()
        await bus.publish('after')
        await sleep(50)
        expect(got).toHaveLength(1)
        await store.delete([`${prefix}ps`])
      })
    }
  })
}
