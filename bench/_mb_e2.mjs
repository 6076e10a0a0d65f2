import { createClient } from 'redis'
import { createCache } from 'tiercache/node'
import { lru } from 'tiercache/lru'
import { redis } from 'tiercache/redis'
const url = 'redis://127.0.0.1:6390'
const VALUE = { id: 1, name: 'x'.repeat(180) }
const client = createClient({ url, commandOptions: { timeout: 0 } }); await client.connect()
const cache = createCache({ namespace: 'mbe' + Date.now(), l1: lru(), l2: redis({ url }), ttl: 3600000 })
await cache.ready()
const now = process.hrtime.bigint
const px = { expiration: { type: 'PX', value: 3600000 } }
const loader = () => VALUE
let seq = 0
const run0 = Date.now()
const ops = {
  raw: async () => { const k = `raw:e-${run0}-${seq++}`; const hit = await client.get(k); if (hit !== null) return JSON.parse(hit); const v = await loader(); await client.set(k, JSON.stringify(v), px); return v },
  tc: () => cache.getOrLoad(`e-${seq++}`, loader),
}
async function run(op, n) { const c0 = process.cpuUsage(); const t0 = now(); for (let i = 0; i < n; i++) await op(); const c = process.cpuUsage(c0); return [(c.user + c.system) / n, Number(now() - t0) / 1000 / n] }
for (let r = 0; r < 6; r++) {
  const out = []
  for (const [k, op] of Object.entries(ops)) { if (process.argv[2] && process.argv[2] !== k) continue; const [cpu, wall] = await run(op, 2000); out.push(`${k} cpu ${cpu.toFixed(1)}µs wall ${wall.toFixed(1)}µs`) }
  console.log(out.join('  |  '))
}
await cache.close(); await client.close()
