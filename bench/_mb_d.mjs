import { createClient } from 'redis'
import { createCache } from 'tiercache/node'
import { redis } from 'tiercache/redis'
const url = 'redis://127.0.0.1:6390'
const VALUE = { id: 1, name: 'x'.repeat(180) }
const KEYS = Array.from({ length: 100 }, (_, i) => `m-${i}`)
const client = createClient({ url, commandOptions: { timeout: 0 } }); await client.connect()
for (const k of KEYS) await client.set('raw:' + k, JSON.stringify(VALUE))
const cache = createCache({ namespace: 'mbd', l1: false, l2: redis({ url }), ttl: 3600000 })
await cache.mset(KEYS.map(k => [k, VALUE]))
const now = process.hrtime.bigint
const parse = (t) => t === null ? undefined : JSON.parse(t)
const ops = {
  raw: async () => (await client.mGet(KEYS.map(k => 'raw:' + k))).map(parse),
  tc: async () => [...(await cache.mget(KEYS)).values()],
}
const mode = process.argv[2] ?? 'both'
async function run(op, n) { const s = new Float64Array(n); for (let i = 0; i < n; i++) { const t = now(); const v = await op(); if (v[99] === undefined) throw new Error('miss'); s[i] = Number(now() - t) / 1000 } s.sort(); return s[n >> 1] }
for (let r = 0; r < 8; r++) {
  const out = []
  for (const [k, op] of Object.entries(ops)) if (mode === 'both' || mode === k) out.push(`${k} ${(await run(op, 400)).toFixed(1)}`)
  console.log(out.join('  '))
}
await cache.close(); await client.close()
