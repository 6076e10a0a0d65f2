import { createClient } from 'redis'
import { createCache } from 'tiercache/node'
import { lru } from 'tiercache/lru'
import { redis } from 'tiercache/redis'
const url = 'redis://127.0.0.1:6390'
const VALUE = { id: 1, name: 'x'.repeat(180) }
const client = createClient({ url, commandOptions: { timeout: 0 } }); await client.connect()
const cache = createCache({ namespace: 'mbe', l1: lru(), l2: redis({ url }), ttl: 3600000 })
await cache.ready()
const now = process.hrtime.bigint
const px = { expiration: { type: 'PX', value: 3600000 } }
const loader = () => VALUE
let seq = 0
const ops = {
  raw: async () => { const k = `raw:e-${seq++}`; const hit = await client.get(k); if (hit !== null) return JSON.parse(hit); const v = await loader(); await client.set(k, JSON.stringify(v), px); return v },
  tc: () => cache.getOrLoad(`e-${seq++}`, loader),
}
const mode = process.argv[2] ?? 'both'
async function run(op, n) { const s = new Float64Array(n); for (let i = 0; i < n; i++) { const t = now(); const v = await op(); if (v === undefined) throw new Error('miss'); s[i] = Number(now() - t) / 1000 } s.sort(); return s[n >> 1] }
const VALUE2 = { ...VALUE }
await cache.set('hit', VALUE2); await cache.get('hit')
async function mix() {
  if (process.env.MIX !== '1') return
  for (let i = 0; i < 200000; i++) await cache.get('hit')
  for (let j = 0; j < 5; j++) await Promise.all(Array.from({ length: 1000 }, () => cache.getOrLoad('st-' + seq, async () => { await new Promise(r => setTimeout(r, 20)); return VALUE })))
  seq++
}
for (let r = 0; r < 8; r++) {
  await mix()
  const out = []
  for (const [k, op] of Object.entries(ops)) if (mode === 'both' || mode === k) out.push(`${k} ${(await run(op, 1000)).toFixed(1)}`)
  console.log(out.join('  '))
}
await cache.close(); await client.close()
