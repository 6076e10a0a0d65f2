import { createCache } from 'tiercache/node'
import { lru } from 'tiercache/lru'
const VALUE = { id: 1, name: 'x'.repeat(180) }
const store = { kind: 'l2', name: 'fake', get: (k) => Promise.resolve(null), mget: (ks) => Promise.resolve(ks.map(() => null)), set: (k, v, t) => Promise.resolve(), mset: () => Promise.resolve(), delete: () => Promise.resolve(), clear: () => Promise.resolve() }
const cache = createCache({ namespace: 'mbe4', l1: lru({ max: 1000 }), l2: store, ttl: 3600000, invalidation: { transport: 'off' } })
const now = process.hrtime.bigint
const loader = () => VALUE
let seq = 0
const raw = async () => { const k = 'raw:' + seq++; const hit = await store.get(k); if (hit !== null) return JSON.parse(hit); const v = await loader(); await store.set(k, JSON.stringify(v), 1000); return v }
const tc = () => cache.getOrLoad('e-' + seq++, loader)
const best = { raw: Infinity, tc: Infinity }
for (let r = 0; r < 10; r++) {
  for (const [k, op] of Object.entries({ raw, tc })) { const n = 50000; const t0 = now(); for (let i = 0; i < n; i++) await op(); best[k] = Math.min(best[k], Number(now() - t0) / n / 1000) }
}
console.log(`raw ${best.raw.toFixed(2)}µs  tc ${best.tc.toFixed(2)}µs  diff ${(best.tc - best.raw).toFixed(2)}µs`)
