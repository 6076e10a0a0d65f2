import { InvalidOptionError } from './errors.js'

/**
 * A duration: milliseconds as a number, or a string such as `'250ms'`, `'30s'`, `'5m'`,
 * `'1h'`, `'1d'` (decimals allowed: `'1.5s'`).
 */
export type Duration = number | string

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/

/**
 * Parses a {@link Duration} into milliseconds.
 * @param value the duration
 * @param option the option's name, used in the error message
 * @throws InvalidOptionError (`E_INVALID_OPTION`) for negative, non-finite or malformed input
 * @example parseDuration('5m', 'ttl') // 300000
 */
export function parseDuration(value: unknown, option: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value
  } else if (typeof value === 'string') {
    const match = DURATION_RE.exec(value.trim())
    if (match !== null) return Math.round(Number(match[1]) * (UNIT_MS[match[2] as string] as number))
  }
  throw new InvalidOptionError(
    `${option} must be a non-negative number of milliseconds or a duration string like '250ms', '30s', '5m', '1h', '1d'; got ${describe(value)}`,
    { option },
  )
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'symbol' || typeof value === 'function') return `a ${typeof value}`
  return String(value)
}

/**
 * TTL presets from the reference design, in milliseconds.
 *
 * - `RealTime`: 10 s — data that changes constantly
 * - `ShortTerm`: 5 min — the default when no ttl is given
 * - `MediumTerm`: 1 h
 * - `LongTerm`: 3 h
 * - `Custom(d)`: any {@link Duration}
 *
 * @example
 * ```ts
 * createCache({ namespace: 'prices', ttl: Strategy.RealTime })
 * cache.set('k', v, { ttl: Strategy.Custom('90s') })
 * ```
 */
export const Strategy = Object.freeze({
  RealTime: 10_000,
  ShortTerm: 300_000,
  MediumTerm: 3_600_000,
  LongTerm: 10_800_000,
  /** A custom TTL; validates and converts a {@link Duration} to milliseconds. */
  Custom: (duration: Duration): number => parseDuration(duration, 'Strategy.Custom'),
})
