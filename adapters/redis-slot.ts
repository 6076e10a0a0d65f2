/**
 * Redis Cluster hash slots: `CRC16(key) mod 16384` over the key's UTF-8 bytes, or over its hash
 * tag (the bytes between the first `{` and the next `}`, when not empty). Used to split batches
 * so that every multi-key command stays within one slot.
 * @module
 */

const TABLE = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let crc = i << 8
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1
  TABLE[i] = crc & 0xffff
}

const encoder = new TextEncoder()

function crc16(text: string): number {
  let crc = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    // anything beyond ASCII is hashed as the UTF-8 bytes Redis receives
    if (code > 0x7f) {
      for (const byte of encoder.encode(text.slice(i))) crc = ((crc << 8) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!) & 0xffff
      return crc
    }
    crc = ((crc << 8) ^ TABLE[((crc >> 8) ^ code) & 0xff]!) & 0xffff
  }
  return crc
}

/** The cluster hash slot (0–16383) of `key`, as Redis' `CLUSTER KEYSLOT` computes it. */
export function keySlot(key: string): number {
  const open = key.indexOf('{')
  if (open >= 0) {
    const close = key.indexOf('}', open + 1)
    // an empty tag `{}` is no tag: the whole key is hashed
    if (close > open + 1) return crc16(key.slice(open + 1, close)) & 0x3fff
  }
  return crc16(key) & 0x3fff
}

/** The positions of `keys` grouped by hash slot, in first-seen order. */
export function slotGroups(keys: readonly string[]): number[][] {
  const groups = new Map<number, number[]>()
  for (let i = 0; i < keys.length; i++) {
    const slot = keySlot(keys[i]!)
    const group = groups.get(slot)
    if (group === undefined) groups.set(slot, [i])
    else group.push(i)
  }
  return [...groups.values()]
}

/** `keys` grouped by hash slot: each group may go into one multi-key command. */
export function groupBySlot(keys: readonly string[]): string[][] {
  return slotGroups(keys).map((group) => group.map((i) => keys[i]!))
}
