import { freshPayloadStart } from '../dist/src/envelope.js'
import { encodeEnvelope } from 'tiercache/core'
const json = JSON.stringify({ id: 1, name: 'x'.repeat(180) })
const stored = encodeEnvelope(Date.now() + 3600000, Date.now() + 3600000, 3600000, [], 'j' + json)
const buf = Buffer.from(stored)
const strs = Array.from({ length: 1000 }, () => buf.toString())
function fps2(text, now) {
  if (!text.startsWith('tc1|')) return -1
  let n = 0
  let i = 4
  for (; i < 20; i++) {
    const c = text.charCodeAt(i)
    if (c === 124) break
    const d = c - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  if (i === 4 || i === 20 || !(n > now)) return -1
  const c = text.indexOf('|', i + 1)
  const e = c < 0 ? -1 : text.indexOf('|', c + 1)
  if (e < 0 || text.charCodeAt(e + 1) !== 48 || text.charCodeAt(e + 2) !== 124) return -1
  return e + 3
}
const now = process.hrtime.bigint
const t = Date.now()
for (const [name, f] of [['fps', freshPayloadStart], ['fps2', fps2], ['fps', freshPayloadStart], ['fps2', fps2]]) {
  let s = 0; const t0 = now()
  for (let i = 0; i < 3e6; i++) s += f(strs[i % 1000], t)
  console.log(name, (Number(now() - t0) / 3e6).toFixed(1), s / 3e6)
}
