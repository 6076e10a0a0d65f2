/**
 * Heap per entry of one in-process cache, in a process of its own so one subject's garbage
 * cannot land in another's figure. `bench/compare.ts` runs it; by hand:
 *
 *   node --expose-gc --import tsx bench/heap.ts <map|tiercache|bentocache|cache-manager> [entries]
 *
 * Each entry is a distinct object parsed from ~200 bytes of JSON (its own strings, as values
 * read from a database or from Redis have), under the key `user:<i>`. The cache is created
 * first; the heap is measured after full GCs before and after inserting the entries, so the
 * cache's fixed overhead is left out. Prints one line of JSON.
 */
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { createCache as createCacheManager } from 'cache-manager'
import { Keyv } from 'keyv'
import { CacheableMemory } from 'cacheable'
import { createCache } from 'tiercache/node'
import { lru } from 'tiercache/lru'

const TTL_MS = 3_600_000

function recordJson(i: number): string {
  return JSON.stringify({
    id: i,
    name: `User ${i}`,
    email: `user${i}@example.com`,
    roles: ['admin', 'editor', 'viewer'],
    active: i % 2 === 0,
    score: (i % 1000) / 10,
    bio: `Member ${i}: mathematician and writer, known for her work on the Analytical Engine.`,
  })
}

interface Target {
  set(key: string, value: unknown): unknown
  get(key: string): unknown
}

async function target(subject: string, entries: number): Promise<Target> {
  switch (subject) {
    case 'map': {
      const map = new Map<string, unknown>()
      return { set: (k, v) => map.set(k, v), get: (k) => map.get(k) }
    }
    case 'tiercache': {
      // local-only: the L1 is what holds entries in-process
      const cache = createCache({ namespace: 'heap', l1: lru({ max: entries * 2 }), l2: false, ttl: TTL_MS })
      return { set: (k, v) => cache.set(k, v), get: (k) => cache.get(k) }
    }
    case 'bentocache': {
      // the memory driver as BentoCache documents it, sized for the entries (its default
      // maxItems is 1000); it serializes entries by default (serialize: true)
      const bento = new BentoCache({ default: 'memory', ttl: TTL_MS, stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: entries * 2 })) } })
      return { set: (k, v) => bento.set({ key: k, value: v }), get: (k) => bento.get({ key: k }) }
    }
    case 'cache-manager': {
      // the in-memory tier of cache-manager's README: Keyv over CacheableMemory
      const cache = createCacheManager({ stores: [new Keyv({ store: new CacheableMemory({ ttl: TTL_MS, lruSize: entries * 2 }) })], ttl: TTL_MS })
      return { set: (k, v) => cache.set(k, v), get: (k) => cache.get(k) }
    }
    default:
      throw new Error(`heap.ts: unknown subject '${subject}' (map, tiercache, bentocache, cache-manager)`)
  }
}

async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('heap.ts needs node --expose-gc')
  for (let i = 0; i < 4; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

async function main(): Promise<void> {
  const subject = process.argv[2] ?? ''
  const entries = Number(process.argv[3] ?? 100_000)
  if (!Number.isInteger(entries) || entries <= 0) throw new Error(`heap.ts: entries must be a positive integer; got ${process.argv[3]}`)
  const cache = await target(subject, entries)
  // one entry in and out first, so lazily created internals count as fixed overhead
  await cache.set('warm', JSON.parse(recordJson(-1)))
  await cache.get('warm')
  await settle()
  const before = process.memoryUsage().heapUsed
  let jsonBytes = 0
  for (let i = 0; i < entries; i++) {
    const json = recordJson(i)
    jsonBytes += json.length
    await cache.set(`user:${i}`, JSON.parse(json))
  }
  await settle()
  const after = process.memoryUsage().heapUsed
  // every entry must still be there (an evicting cache would flatter itself)
  for (const i of [0, entries >> 1, entries - 1]) {
    const value = (await cache.get(`user:${i}`)) as { id?: number } | undefined
    if (value?.id !== i) throw new Error(`heap.ts: ${subject} lost user:${i}`)
  }
  const bytes = after - before
  console.log(JSON.stringify({ subject, entries, bytes, bytesPerEntry: bytes / entries, jsonBytesPerEntry: jsonBytes / entries }))
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
