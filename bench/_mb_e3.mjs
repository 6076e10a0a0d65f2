import { createClient } from 'redis'
import { createCache } from 'tiercache/node'
import { lru } from 'tiercache/lru'
import { redis } from 'tiercache/redis'
const url = 'redis://127.0.0.1:6390'
const VALUE = { id: 1, name: 'x'.repeat(180) }
const client = createClient({ url, commandOptions: { timeout: 0 } }); await client.connect()
const T = process.hrtime.bigint
let marks = []
const mark = (n) => marks.push([n, T()])
const store = redis({ url })
const wrapped = new Proxy(store, { get(t, p) { const v = t[p]; if (typeof v !== 'function') return v; if (p === 'get' || p === 'set') return (...a) => { mark(p + '>'); const r = v.apply(t, a); return r.then((x) => { mark(p + '<'); return x }) }; return v.bind(t) } })
const cache = createCache({ namespace: 'mbe' + Date.now(), l1: lru(), l2: wrapped, ttl: 3600000 })
await cache.ready()
const px = { expiration: { type: 'PX', value: 3600000 } }
const loader = () => { mark('load'); return VALUE }
let seq = 0
const run0 = Date.now()
const ops = {
  raw: async () => { const k = `raw:e-${run0}-${seq++}`; mark('get>'); const hit = await client.get(k); mark('get<'); if (hit !== null) return JSON.parse(hit); const v = await loader(); const s = JSON.stringify(v); mark('set>'); await client.set(k, s, px); mark('set<'); return v },
  tc: () => cache.getOrLoad(`e-${seq++}`, loader),
}
for (let r = 0; r < 4; r++) {
  for (const [k, op] of Object.entries(ops)) {
    const acc = new Map(); const n = 2000
    for (let i = 0; i < n; i++) { marks = []; mark('start'); await op(); mark('end'); let prev = marks[0][1]; for (const [name, t] of marks.slice(1)) { const d = Number(t - prev) / 1000; const list = acc.get(name) ?? []; list.push(d); acc.set(name, list); prev = t } }
    if (r < 2) continue
    console.log(k.padEnd(4), [...acc].map(([name, l]) => { l.sort((a, b) => a - b); return `${name} ${l[l.length >> 1].toFixed(1)}` }).join('  '))
  }
}
await cache.close(); await client.close()
