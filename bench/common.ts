/** What every benchmark here shares: the record measured, a clock, the median, a result check. */

/** ~200 bytes as JSON: a typical small record. */
export const VALUE = {
  id: 421337,
  name: 'Ada Lovelace',
  email: 'ada.lovelace@example.com',
  roles: ['admin', 'editor', 'viewer'],
  active: true,
  score: 98.6,
  bio: 'Mathematician and writer, chiefly known for her work on the Analytical Engine.',
}
export type Value = typeof VALUE
export const VALUE_JSON = JSON.stringify(VALUE)

/** Nanoseconds, for loops of sub-microsecond operations. */
export const nowNs = (): bigint => process.hrtime.bigint()

/** The median; NaN for no samples. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Results are checked, not just awaited, so a broken cache cannot post a flattering number. */
export function check(value: unknown, where: string): void {
  if (value === undefined || value === null || (value as Value).id !== VALUE.id) {
    throw new Error(`${where}: unexpected result ${JSON.stringify(value)}`)
  }
}
