import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage, normalizeKey, prefixStorage, type Driver, type Storage, type TransactionOptions } from 'unstorage'
import cloudflareKVBindingDriver from 'unstorage/drivers/cloudflare-kv-binding'
import fsDriver from 'unstorage/drivers/fs'
import memoryDriver from 'unstorage/drivers/memory'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeUnstorageKey, encodeUnstorageKey, unstorage } from '../../adapters/unstorage.js'
import { lru } from '../../adapters/lru.js'
import { memoryStore } from '../../adapters/memory.js'
import { createCache, errors } from '../../runtimes/default.js'
import { fakeClock, trackCaches, uniqueName } from '../support/helpers.js'
import { describeL2Conformance } from './l2.js'

const dirs: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tiercache-unstorage-'))
  dirs.push(dir)
  return dir
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
})

/** Every file under `dir`, as paths relative to it. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
}

describeL2Conformance('unstorage(memoryDriver())', () => unstorage(memoryDriver()), { tags: false, bus: false, pubsub: false })
describeL2Conformance('unstorage(fsDriver())', async () => unstorage(fsDriver({ base: await tempDir() })), { tags: false, bus: false, pubsub: false })
describeL2Conformance('unstorage(createStorage())', () => unstorage(createStorage()), { tags: false, bus: false, pubsub: false })

/** The unstorage backends the adapter-specific tests run against; `storage` is what the store writes to. */
const backends: { name: string; open(): Promise<{ storage: Storage; store: ReturnType<typeof unstorage> }> }[] = [
  { name: 'memory driver', open: async () => { const store = unstorage(memoryDriver()); return { storage: store.storage, store } } },
  { name: 'fs driver', open: async () => { const store = unstorage(fsDriver({ base: await tempDir() })); return { storage: store.storage, store } } },
  { name: 'a Storage', open: async () => { const storage = createStorage(); return { storage, store: unstorage(storage) } } },
]

describe.each(backends)('unstorage() over $name', ({ open }) => {
  it('round-trips strings unstorage would parse, unchanged and as strings', async () => {
    const { storage, store } = await open()
    // each of these comes back from unstorage's own getItem as something else
    const values = ['123', '-1.5e3', 'true', 'FALSE', 'null', 'undefined', 'NaN', '-Infinity', '{"a":1}', '[1,2]', '"quoted"', ' 42 ', 'base64:AAAA', '']
    for (const [i, value] of values.entries()) {
      await storage.setItem(`probe:${i}`, value)
      if (value !== '' && value !== 'base64:AAAA') expect(await storage.getItem(`probe:${i}`)).not.toBe(value)
    }
    for (const [i, value] of values.entries()) await store.set(`tiercache:ns:s${i}`, value, 10_000)
    for (const [i, value] of values.entries()) expect(await store.get(`tiercache:ns:s${i}`)).toBe(value)
    await store.mset(values.map((value, i) => ({ key: `tiercache:ns:m${i}`, value, ttl: 10_000 })))
    expect(await store.mget(values.map((_, i) => `tiercache:ns:m${i}`))).toEqual(values)
    await store.close()
  })

  it('stores each key under one unstorage key that survives normalization, and reads every key back distinctly', async () => {
    const { storage, store } = await open()
    const keys = [
      'a/b', 'a\\b', 'a?b', 'a#b', 'a&b=c', '.', '..', 'a:..:b', 'x..', '::', ':lead', 'trail:', 'a::b', 'a:b', 'a:b:c',
      'UPPER', 'upper', 'Upper', 'node_modules:x', 'con:x', 'sp ace', 'tab\t', 'nul\u0000l', '$end$', 'meta$', 'ünï', '𝄞 日本語',
      'lone\uD800', '%41', '%', '~', '!', '*[x]?', 'y'.repeat(600), 'é'.repeat(400), `${'z'.repeat(300)}:tail`,
    ].map((key) => `tiercache:ns:${key}`)
    for (const [i, key] of keys.entries()) await store.set(key, `v${i}`, 10_000)
    for (const [i, key] of keys.entries()) expect(await store.get(key), key).toBe(`v${i}`)
    expect(await store.mget(keys)).toEqual(keys.map((_, i) => `v${i}`))

    const stored = keys.map(encodeUnstorageKey)
    expect(new Set(stored).size).toBe(keys.length)
    for (const [i, key] of stored.entries()) {
      expect(normalizeKey(key), key).toBe(key)
      expect(decodeUnstorageKey(key)).toBe(keys[i])
    }
    expect((await storage.getKeys('tiercache:ns')).sort()).toEqual([...stored].sort())
    expect(await store.clear('tiercache:ns:')).toBe(keys.length)
    expect(await store.mget(keys)).toEqual(keys.map(() => null))
    await store.close()
  })

  it('mget is one getItems call and mset one setItems call, with duplicates answered in order', async () => {
    const { storage } = await open()
    const calls = { getItem: 0, getItems: 0, setItem: 0, setItems: 0 }
    const counted: Storage = {
      ...storage,
      getItem: ((...args: Parameters<Storage['getItem']>) => (calls.getItem++, storage.getItem(...args))) as Storage['getItem'],
      getItems: (...args) => (calls.getItems++, storage.getItems(...args)),
      setItem: ((...args: Parameters<Storage['setItem']>) => (calls.setItem++, storage.setItem(...args))) as Storage['setItem'],
      setItems: (...args) => (calls.setItems++, storage.setItems(...args)),
    }
    const store = unstorage(counted)
    await store.mset([1, 2, 3, 4].map((i) => ({ key: `tiercache:ns:k${i}`, value: `v${i}`, ttl: 10_000 })))
    expect(calls).toEqual({ getItem: 0, getItems: 0, setItem: 0, setItems: 1 })
    const keys = ['k1', 'k2', 'absent', 'k3', 'k1', 'k4'].map((k) => `tiercache:ns:${k}`)
    expect(await store.mget(keys)).toEqual(['v1', 'v2', null, 'v3', 'v1', 'v4'])
    expect(calls).toEqual({ getItem: 0, getItems: 1, setItem: 0, setItems: 1 })
    expect(await store.mget([])).toEqual([])
    expect(calls.getItems).toBe(1)
    await store.close()
  })

  it('reads foreign or torn items as absent, and clear leaves keys it did not write alone', async () => {
    const { storage, store } = await open()
    const key = 'tiercache:ns:k'
    await storage.setItem(encodeUnstorageKey(key), 'not written by tiercache')
    expect(await store.get(key)).toBeNull()
    await store.set(key, 'full value', 10_000)
    const raw = await storage.getItemRaw(encodeUnstorageKey(key))
    const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw as Uint8Array)
    expect(text.endsWith('|full value')).toBe(true)
    await storage.setItem(encodeUnstorageKey(key), text.slice(0, -3)) // a half-written item
    expect(await store.get(key)).toBeNull()
    expect(await store.mget([key])).toEqual([null])

    await storage.setItem('tiercache:ns:plain', 'someone else')
    await store.set(key, 'mine', 10_000)
    expect(await store.clear('tiercache:ns:')).toBe(1)
    expect(await storage.getItem('tiercache:ns:plain')).toBe('someone else')
    await store.close()
  })
})

describe('unstorage() expiry', () => {
  it('expires entries logically on a driver without TTL support, and removes them when read', async () => {
    const clock = fakeClock()
    const store = unstorage(memoryDriver(), { clock })
    await store.set('tiercache:ns:a', 'A', 1000)
    await store.mset([{ key: 'tiercache:ns:b', value: 'B', ttl: 1000 }, { key: 'tiercache:ns:c', value: 'C', ttl: 5000 }])
    clock.advance(999)
    expect(await store.get('tiercache:ns:a')).toBe('A')
    expect(await store.mget(['tiercache:ns:a', 'tiercache:ns:b', 'tiercache:ns:c'])).toEqual(['A', 'B', 'C'])
    clock.advance(1)
    // still held by the driver (it has no TTLs) until a read finds it expired
    expect(await store.storage.getKeys('tiercache:ns')).toHaveLength(3)
    expect(await store.get('tiercache:ns:a')).toBeNull()
    expect(await store.storage.hasItem(encodeUnstorageKey('tiercache:ns:a'))).toBe(false)
    expect(await store.mget(['tiercache:ns:a', 'tiercache:ns:b', 'tiercache:ns:c'])).toEqual([null, null, 'C'])
    expect(await store.storage.hasItem(encodeUnstorageKey('tiercache:ns:b'))).toBe(false)
    expect(await store.storage.getKeys('tiercache:ns')).toEqual([encodeUnstorageKey('tiercache:ns:c')])
    await store.close()
  })

  it('passes the TTL to the driver in whole seconds, rounded up (or not at all with driverTtl: false)', async () => {
    const seen: (TransactionOptions | undefined)[] = []
    const recording = (): Driver => {
      const inner = memoryDriver()
      return { ...inner, name: 'recording', setItem: (key, value, opts) => (seen.push(opts), inner.setItem!(key, value, opts)) }
    }
    const store = unstorage(recording())
    await store.set('tiercache:ns:a', 'v', 1)
    await store.set('tiercache:ns:b', 'v', 1500)
    await store.mset([{ key: 'tiercache:ns:c', value: 'v', ttl: 60_000 }, { key: 'tiercache:ns:d', value: 'v', ttl: 60_001 }])
    expect(seen.map((o) => o?.ttl)).toEqual([1, 2, 60, 61])
    seen.length = 0
    const plain = unstorage(recording(), { driverTtl: false })
    await plain.set('tiercache:ns:a', 'v', 1500)
    await plain.mset([{ key: 'tiercache:ns:b', value: 'v', ttl: 1500 }])
    expect(seen.map((o) => o?.ttl)).toEqual([undefined, undefined])
  })

  it('gives a Cloudflare KV binding an expirationTtl no shorter than the entry (and its 60 s minimum)', async () => {
    const puts: { key: string; expirationTtl: unknown }[] = []
    const data = new Map<string, string>()
    const binding = {
      get: async (key: string) => data.get(key) ?? null,
      put: async (key: string, value: string, opts?: { expirationTtl?: number }) => {
        puts.push({ key, expirationTtl: opts?.expirationTtl })
        data.set(key, value)
      },
      delete: async (key: string) => void data.delete(key),
      list: async ({ prefix }: { prefix?: string }) => ({
        keys: [...data.keys()].filter((k) => prefix === undefined || k.startsWith(prefix)).map((name) => ({ name })),
        list_complete: true,
      }),
    }
    const store = unstorage(cloudflareKVBindingDriver({ binding: binding as never }))
    expect(store.name).toBe('unstorage:cloudflare-kv-binding')
    await store.set('tiercache:ns:short', 'v', 500)
    await store.set('tiercache:ns:long', '{"a":1}', 90_500)
    expect(puts).toEqual([
      { key: 'tiercache:ns:short~', expirationTtl: 60 },
      { key: 'tiercache:ns:long~', expirationTtl: 91 },
    ])
    expect(await store.get('tiercache:ns:long')).toBe('{"a":1}')
    expect(await store.clear('tiercache:ns:')).toBe(2)
    expect(data.size).toBe(0)
  })
})

describe('unstorage() on a file system', () => {
  it('writes one file per key, with names that differ case-insensitively and stay short', async () => {
    const base = await tempDir()
    const store = unstorage(fsDriver({ base }))
    const keys = ['User', 'user', 'USER', 'a:b', 'a:b:c', 'a::b', 'node_modules:x', 'long:' + 'x'.repeat(700), '日本語'.repeat(50)]
    for (const [i, key] of keys.entries()) await store.set(`tiercache:ns:${key}`, String(i), 10_000)
    const paths = await files(base)
    expect(paths).toHaveLength(keys.length)
    expect(new Set(paths.map((p) => p.toLowerCase())).size).toBe(keys.length)
    for (const name of paths.flatMap((p) => p.split(/[/\\]/))) expect(name.length).toBeLessThanOrEqual(129)
    for (const [i, key] of keys.entries()) expect(await store.get(`tiercache:ns:${key}`)).toBe(String(i))
    expect(await store.clear('tiercache:ns:a:')).toBe(3) // a:b, a:b:c and a::b
    expect(await store.get('tiercache:ns:a:b')).toBeNull()
    expect(await store.get('tiercache:ns:User')).toBe('0')
    expect(await store.clear('tiercache:ns:')).toBe(keys.length - 3)
    expect(await files(base)).toEqual([])
    await store.close()
  })
})

describe('unstorage() setup', () => {
  it('refuses anything that is not a Storage or a writable Driver with E_INVALID_OPTION', () => {
    const readOnly = { name: 'ro', hasItem: () => false, getItem: () => null, getKeys: () => [] }
    for (const bad of [undefined, null, 'memory', 42, () => 1, {}, { getItem: () => null }, memoryStore(), readOnly]) {
      let error: unknown
      try {
        unstorage(bad as never)
      } catch (e) {
        error = e
      }
      expect(error, String(bad)).toBeInstanceOf(errors.InvalidOptionError)
      expect(error).toMatchObject({ code: 'E_INVALID_OPTION', option: 'unstorage' })
    }
    expect(() => unstorage(memoryDriver(), { ttl: 5 } as never)).toThrow(errors.InvalidOptionError)
    expect(() => unstorage(memoryDriver(), { driverTtl: 'yes' as never })).toThrow(/driverTtl/)
    expect(() => unstorage(memoryDriver(), { clock: {} as never })).toThrow(/clock/)
  })

  it('is named after its driver', () => {
    expect(unstorage(memoryDriver()).name).toBe('unstorage:memory')
    expect(unstorage(createStorage({ driver: fsDriver({ base: tmpdir() }) })).name).toBe('unstorage:fs')
    expect(unstorage({ ...memoryDriver(), name: undefined }).name).toBe('unstorage')
    expect(unstorage(memoryDriver(), { name: 'edge-kv' }).name).toBe('edge-kv')
  })

  it('disposes a storage it created on close, and leaves a given Storage alone', async () => {
    let disposed = 0
    const inner = memoryDriver()
    const own = unstorage({ ...inner, dispose: () => void disposed++ })
    await own.close()
    await own.close()
    expect(disposed).toBe(1)

    const storage = createStorage({ driver: { ...memoryDriver(), dispose: () => void disposed++ } })
    const borrowed = unstorage(storage)
    await borrowed.set('tiercache:ns:k', 'v', 10_000)
    await borrowed.close()
    expect(disposed).toBe(1)
    expect(await unstorage(storage).get('tiercache:ns:k')).toBe('v')
  })

  it('works under prefixStorage: keys land below its base', async () => {
    const root = createStorage()
    const store = unstorage(prefixStorage(root, 'cache'))
    await store.mset([{ key: 'tiercache:ns:a', value: '1', ttl: 10_000 }, { key: 'tiercache:ns:b', value: '2', ttl: 10_000 }])
    await root.setItem('other:x', 'keep')
    expect(await root.getKeys()).toEqual(expect.arrayContaining(['cache:tiercache:ns:a~', 'cache:tiercache:ns:b~']))
    expect(await store.mget(['tiercache:ns:b', 'tiercache:ns:a'])).toEqual(['2', '1'])
    expect(await store.clear('tiercache:')).toBe(2)
    expect(await root.getKeys()).toEqual(['other:x'])
  })
})

describe('createCache over unstorage(fsDriver())', () => {
  const track = trackCaches()

  it('shares entries between caches on the same directory, Date and Map included', async () => {
    const base = await tempDir()
    const namespace = uniqueName()
    const writer = track(createCache({ namespace, l1: lru(), l2: unstorage(fsDriver({ base })) }))
    const reader = track(createCache({ namespace, l1: lru(), l2: unstorage(fsDriver({ base })) }))
    const values = {
      date: new Date('2030-01-02T03:04:05.006Z'),
      map: new Map<unknown, unknown>([['a', 1], [2, new Date(7)]]),
      json: { n: 123, s: '123', t: 'true', nested: [null, '{"a":1}'] },
      number: 42,
      text: '{"looks":"like json"}',
      'Key/With?Odd:Chars': 'ok',
    }
    await writer.mset(Object.entries(values))
    for (const [key, value] of Object.entries(values)) expect(await reader.get(key), key).toEqual(value)
    expect(reader.stats().tiers.l2!.hits).toBe(Object.keys(values).length)
    await writer.set('later', 'v2')
    expect(await reader.get('later')).toBe('v2')
    await writer.delete('later')
    const fresh = track(createCache({ namespace, l1: false, l2: unstorage(fsDriver({ base })) }))
    expect(await fresh.get('later')).toBeUndefined()
    expect(await fresh.get('date')).toEqual(values.date)
  })

  it('clear() removes only its own namespace', async () => {
    const base = await tempDir()
    const l2 = unstorage(fsDriver({ base }))
    const one = createCache({ namespace: 'one', l1: lru(), l2 })
    const two = track(createCache({ namespace: 'two', l1: lru(), l2: unstorage(fsDriver({ base })) }))
    const onePrefix = track(createCache({ namespace: 'one-more', l1: lru(), l2: unstorage(fsDriver({ base })) }))
    await one.mset([['a', 1], ['b', 2]])
    await two.set('a', 'two')
    await onePrefix.set('a', 'one-more')
    await one.clear()
    expect(await one.get('a')).toBeUndefined()
    expect(await one.get('b')).toBeUndefined()
    expect(await two.get('a')).toBe('two')
    expect(await onePrefix.get('a')).toBe('one-more')
    expect((await files(base)).sort()).toEqual(['tiercache/one-more/a~', 'tiercache/two/a~'].map((p) => join(...p.split('/'))).sort())
    await one.close()
  })
})
