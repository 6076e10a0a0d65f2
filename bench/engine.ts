/**
 * The engine's own time, without a network: tiercache against a shared tier that answers at
 * once from memory (strings made fresh per call, as a socket gives them), next to the same
 * work done by hand against the same instant store. The difference is what the engine costs
 * per operation; on loopback Redis it is hidden in round trips of ~80 µs and moved by them.
 *
 *   npm run build && npx tsx bench/engine.ts [--rounds 10]
 *
 * Workloads: an L2 get (no L1), 64 concurrent L2 gets (one coalesced MGET), an mget of 100,
 * a miss + load + set (L1 + L2). Best of `rounds` rounds per side (the least disturbed).
 * Nothing here is a test: it reports.
 */
import { createCache } from 'tiercache/node'
import { encodeEnvelope, type L2Store } from 'tiercache/core'
import { lru } from 'tiercache/lru'
import { nowNs as now } from './common.js'

const at = process.argv.indexOf('--rounds')
const rounds = at < 0 ? 10 : Number(process.argv[at + 1])
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer')

const VALUE = { id: 1, name: 'x'.repeat(180) }
const JSON_TEXT = Buffer.from(JSON.stringify(VALUE))
const STORED = Buffer.from(encodeEnvelope(Date.now() + 3_600_000, Date.now() + 3_600_000, 3_600_000, [], `j${JSON.stringify(VALUE)}`))
const KEYS_64 = Array.from({ length: 64 }, (_, i) => `hit-${i}`)
const KEYS_100 = Array.from({ length: 100 }, (_, i) => `m-${i}`)

/** An L2 that holds every key (or none, for the miss) and answers in the same tick. */
function instantStore(holds: boolean): L2Store {
  const read = (): string | null => (holds ? STORED.toString() : null)
  return {
    kind: 'l2',
    name: 'instant',
    get: () => Promise.resolve(read()),
    mget: (keys) => Promise.resolve(keys.map(read)),
    set: () => Promise.resolve(),
    mset: () => Promise.resolve(),
    delete: () => Promise.resolve(),
    clear: () => Promise.resolve(0),
  }
}

const parse = (text: string | null): unknown => (text === null ? undefined : JSON.parse(text))
const rawText = (): Promise<string> => Promise.resolve(JSON_TEXT.toString())
const rawStore = instantStore(false)
const l2Only = createCache({ namespace: 'engine-l2', l1: false, l2: instantStore(true), ttl: '1h', invalidation: false })
const missing = createCache({ namespace: 'engine-miss', l1: lru(), l2: instantStore(false), ttl: '1h', invalidation: false })
const loader = (): typeof VALUE => VALUE
let seq = 0

interface Workload {
  name: string
  ops: number
  raw: () => Promise<unknown>
  tiercache: () => Promise<unknown>
}

const workloads: Workload[] = [
  { name: 'L2 get', ops: 50_000, raw: async () => parse(await rawText()), tiercache: () => l2Only.get('hit') },
  {
    name: '64 concurrent L2 gets',
    ops: 2_000,
    raw: () => Promise.all(KEYS_64.map(async () => parse(await rawText()))),
    tiercache: () => Promise.all(KEYS_64.map((key) => l2Only.get(key))),
  },
  {
    name: 'mget of 100',
    ops: 2_000,
    raw: async () => (await Promise.resolve(KEYS_100.map(() => JSON_TEXT.toString()))).map(parse),
    tiercache: async () => [...(await l2Only.mget(KEYS_100)).values()],
  },
  {
    name: 'miss + load + set',
    ops: 30_000,
    raw: async () => {
      const key = `raw:${seq++}`
      if ((await rawStore.get(key)) !== null) throw new Error('the raw miss found a value')
      const value = loader()
      await rawStore.set(key, JSON.stringify(value), 3_600_000)
      return value
    },
    tiercache: () => missing.getOrLoad(`miss-${seq++}`, loader),
  },
]

async function time(op: () => Promise<unknown>, n: number): Promise<number> {
  const start = now()
  for (let i = 0; i < n; i++) await op()
  return Number(now() - start) / n / 1000
}

console.log(`engine cost against an instant store: best of ${rounds} rounds, µs per operation`)
console.log('workload                 raw      tiercache  engine cost')
for (const w of workloads) {
  let raw = Number.POSITIVE_INFINITY
  let tc = Number.POSITIVE_INFINITY
  for (let r = 0; r < rounds; r++) {
    raw = Math.min(raw, await time(w.raw, w.ops))
    tc = Math.min(tc, await time(w.tiercache, w.ops))
  }
  console.log(`${w.name.padEnd(24)} ${raw.toFixed(2).padStart(7)}  ${tc.toFixed(2).padStart(9)}  ${(tc - raw).toFixed(2).padStart(11)}`)
}
await l2Only.close()
await missing.close()
