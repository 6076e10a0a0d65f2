import { createCache } from 'tiercache/node'
import { encodeEnvelope } from 'tiercache/core'
const VALUE = { id: 1, name: 'x'.repeat(180) }
const KEYS = Array.from({ length: 100 }, (_, i) => `m-${i}`)
const json = JSON.stringify(VALUE)
const stored = encodeEnvelope(Date.now() + 3600000, Date.now() + 3600000, 3600000, [], 'j' + json)
const storedBuf = Buffer.from(stored) // fresh flat strings per call, as a socket gives
const store = { kind: 'l2', name: 'fake', get: (k) => Promise.resolve(null), mget: (ks) => Promise.resolve(ks.map(() => storedBuf.toString())), set: () => Promise.resolve(), mset: () => Promise.resolve(), delete: () => Promise.resolve(), clear: () => Promise.resolve() }
const cache = createCache({ namespace: 'mbd2', l1: false, l2: store, ttl: 3600000, invalidation: { transport: 'off' } })
const now = process.hrtime.bigint
const parse = (t) => t === null ? undefined : JSON.parse(t)
const jsonBuf = Buffer.from(json)
const rawVals = () => KEYS.map(() => jsonBuf.toString())
const raw = async () => (await Promise.resolve(rawVals(KEYS.map((k) => 'raw:' + k)))).map(parse)
const tc = async () => [...(await cache.mget(KEYS)).values()]
const best = { raw: Infinity, tc: Infinity }
for (let r = 0; r < 10; r++) {
  for (const [k, op] of Object.entries({ raw, tc })) { const n = 3000; const t0 = now(); for (let i = 0; i < n; i++) await op(); best[k] = Math.min(best[k], Number(now() - t0) / n / 1000) }
}
console.log(`raw ${best.raw.toFixed(2)}µs  tc ${best.tc.toFixed(2)}µs  diff ${(best.tc - best.raw).toFixed(2)}µs`)
