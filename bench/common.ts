/** What every benchmark here shares: the record measured, a clock, the median, a result check. */
import { cpus, loadavg } from 'node:os'

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

/** The 1, 5 and 15 minute load averages, rounded: other work on the box skews every figure. */
export function loadNow(): number[] {
  return loadavg().map((l) => Number(l.toFixed(2)))
}

/** What a results file says about the machine it was measured on. */
export interface Machine {
  node: string
  cpu: string
  cores: number
  redis: string
  redisSource: string
  loadavg: { start: number[]; end: number[] }
  date: string
}

/** The machine record, at the end of a run that started with `loadAtStart`. */
export function machineRecord(redis: string, redisSource: string, loadAtStart: number[]): Machine {
  const cpu = cpus()
  return {
    node: process.version,
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    redis,
    redisSource,
    loadavg: { start: loadAtStart, end: loadNow() },
    date: new Date().toISOString(),
  }
}

/** REDIS_URL when set, else a private redis-server on loopback (stopped by the caller). */
export async function benchRedis(): Promise<{ url: string; server: { url: string; stop(): Promise<void> } | undefined }> {
  const given = process.env.REDIS_URL
  if (given !== undefined && given !== '') return { url: given, server: undefined }
  // imported lazily: only needed when no Redis is given
  const { startRedisServer } = await import('../test/support/redis-server.js')
  const server = await startRedisServer()
  return { url: server.url, server }
}

/** The server's version from `INFO server`. */
export function redisVersionOf(info: unknown): string {
  return /redis_version:(\S+)/.exec(String(info))?.[1] ?? 'unknown'
}
