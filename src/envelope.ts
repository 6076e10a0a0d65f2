/**
 * The entry envelope stored in L2: a version, the logical expiry, the end of the grace
 * window, the TTL it was written with (for refresh-ahead), the tags, and the serialized value:
 *
 *     tc1|<expiresAt>|<staleUntil>|<ttl>|<tagsLength>|<tags JSON><payload>
 *
 * A header of plain text keeps a read to one `indexOf` scan and one `JSON.parse` of the
 * payload; the length prefix lets tags hold any character.
 * @module
 */

/** A decoded envelope; `payload` is still serialized. */
export interface Envelope {
  readonly expiresAt: number
  readonly staleUntil: number
  /** The TTL in ms the entry was written with. */
  readonly ttl: number
  readonly tags: readonly string[]
  readonly payload: string
}

const VERSION = 'tc1|'
const NO_TAGS: readonly string[] = Object.freeze([])

/** Builds the stored string. */
export function encodeEnvelope(expiresAt: number, staleUntil: number, ttl: number, tags: readonly string[], payload: string): string {
  const tagText = tags.length === 0 ? '' : JSON.stringify(tags)
  // without grace both ends are the same instant: one number-to-text conversion, not two
  const expires = String(expiresAt)
  return `${VERSION}${expires}|${staleUntil === expiresAt ? expires : staleUntil}|${ttl}|${tagText.length}|${tagText}${payload}`
}

/** Parses a stored string; `undefined` for anything foreign or malformed. */
export function decodeEnvelope(text: unknown): Envelope | undefined {
  if (typeof text !== 'string' || !text.startsWith(VERSION)) return undefined
  const a = VERSION.length
  const b = text.indexOf('|', a)
  const c = b < 0 ? -1 : text.indexOf('|', b + 1)
  const e = c < 0 ? -1 : text.indexOf('|', c + 1)
  const d = e < 0 ? -1 : text.indexOf('|', e + 1)
  if (d < 0) return undefined
  const expiresAt = numberAt(text, a, b)
  const staleUntil = numberAt(text, b + 1, c)
  const ttl = numberAt(text, c + 1, e)
  const tagLength = numberAt(text, e + 1, d)
  if (!Number.isFinite(expiresAt) || !Number.isFinite(staleUntil) || !Number.isFinite(ttl) || !Number.isInteger(tagLength) || tagLength < 0) return undefined
  const payloadStart = d + 1 + tagLength
  if (payloadStart > text.length) return undefined
  let tags = NO_TAGS
  if (tagLength > 0) {
    try {
      const parsed: unknown = JSON.parse(text.slice(d + 1, payloadStart))
      if (!Array.isArray(parsed) || !parsed.every((t) => typeof t === 'string')) return undefined
      tags = parsed as string[]
    } catch {
      return undefined
    }
  }
  return { expiresAt, staleUntil, ttl, tags, payload: text.slice(payloadStart) }
}

/**
 * Where the payload of `text` starts, if `text` is a well-formed envelope without tags, still
 * fresh at `now`; otherwise -1 (then `decodeEnvelope` decides: expired, tagged or corrupt).
 * The read path for a value that needs none of the header but its expiry: no envelope
 * object, no payload substring.
 */
export function freshPayloadStart(text: string, now: number): number {
  // runs for every key of a batch read: the expiry digit by digit, the two fields after it
  // skipped with indexOf (their first digit checked), no substrings, no envelope object
  if (!text.startsWith(VERSION)) return -1
  let expiresAt = 0
  let i = VERSION.length
  for (const end = i + 16; i < end; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit === 124 - 48) break
    if (!(digit >= 0 && digit <= 9)) return -1
    expiresAt = expiresAt * 10 + digit
  }
  if (i === VERSION.length || text.charCodeAt(i) !== 124 || !(expiresAt > now) || !isDigit(text.charCodeAt(i + 1))) return -1
  const ttlAt = text.indexOf('|', i + 1) + 1
  const tagsAt = ttlAt === 0 || !isDigit(text.charCodeAt(ttlAt)) ? 0 : text.indexOf('|', ttlAt) + 1
  // a tag length of exactly 0: tags need their JSON checked, which decodeEnvelope does
  return tagsAt !== 0 && text.charCodeAt(tagsAt) === 48 && text.charCodeAt(tagsAt + 1) === 124 ? tagsAt + 2 : -1
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57
}

/**
 * The number written in `text` between `start` and `end`. Header fields are integers written
 * by `encodeEnvelope`, read here digit by digit without cutting substrings (this runs for
 * every key an L2 read returns); anything else goes through `Number`.
 */
function numberAt(text: string, start: number, end: number): number {
  if (end - start > 15 || end === start) return Number(text.slice(start, end))
  let n = 0
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return Number(text.slice(start, end))
    n = n * 10 + digit
  }
  return n
}
