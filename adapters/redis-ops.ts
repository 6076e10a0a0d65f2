/**
 * Redis command shapes shared by the TCP (`redis()`) and HTTP (`upstash()`) stores: tag sets,
 * the invalidation bus and raw streams, written once over a tiny command runner.
 * @module
 */
import type { InvalidationBus, L2Write, StreamEntry } from '../src/contracts.js'

/** Sends one command, or one Lua script, and returns the raw reply. */
export interface CommandRunner {
  /** `key` routes the command on a cluster (the node owning its slot); a single Redis ignores it. */
  command(args: string[], key?: string): Promise<unknown>
  /**
   * `readOnly` scripts may run as EVAL_RO (Redis ≥ 7), which lets an HTTP client batch them with
   * reads. A cluster routes a script by `keys[0]`; all its keys must share one slot.
   */
  script(source: string, keys: string[], args: string[], readOnly?: boolean): Promise<unknown>
  /**
   * Splits keys into the groups one multi-key command may take: one per hash slot on a cluster.
   * Absent (a single Redis): any keys may go together.
   */
  group?(keys: readonly string[]): string[][]
}

/**
 * XADD to the stream and PUBLISH `<id>|<message>` to the channel, atomically, in one round trip.
 * The channel is an argument, not a key: a channel is no key, and a cluster refuses a script
 * whose keys span slots.
 */
export const PUBLISH_SCRIPT = `local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[1])
redis.call('PUBLISH', ARGV[3], id .. '|' .. ARGV[1])
return id`

/** The newest entry id; an empty marker entry is added first when the stream is empty. */
export const HEAD_SCRIPT = `local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then return last[1][1] end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', '')`

/** XRANGE from the cursor, inclusive, so the reply says whether the cursor entry still exists. */
export const READ_SCRIPT = `return redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])`

/** XREVRANGE, as raw arrays. */
export const LATEST_SCRIPT = `return redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])`

/** The commands that put `w.key` into its tag sets and keep each set alive at least `w.ttl` (Redis ≥ 7 for NX/GT). */
export function tagCommands(w: L2Write): string[][] {
  const ttl = String(Math.max(1, Math.ceil(w.ttl)))
  return (w.tagKeys ?? []).flatMap((tagKey) => [
    ['SADD', tagKey, w.key],
    ['PEXPIRE', tagKey, ttl, 'NX'],
    ['PEXPIRE', tagKey, ttl, 'GT'],
  ])
}

/** Parses XRANGE/XREVRANGE replies: `[[id, [field, value, …]], …]`. */
export function parseEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) return []
  return reply.map((item) => {
    const [id, flat] = item as [unknown, unknown]
    const fields: Record<string, string> = {}
    if (Array.isArray(flat)) for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = String(flat[i + 1])
    return { id: String(id), fields }
  })
}

/**
 * Parses an XREAD reply for one stream: RESP2 `[[key, entries]]`, a RESP3 map `{ key: entries }`
 * (a `Map` or an object, depending on the client), or null on timeout.
 */
export function parseXread(reply: unknown): StreamEntry[] {
  if (reply === null || reply === undefined) return []
  if (reply instanceof Map) return parseEntries([...reply.values()][0])
  if (Array.isArray(reply)) {
    const first = reply[0] as unknown
    if (Array.isArray(first)) return parseEntries(first[1])
    if (first !== null && typeof first === 'object') return parseEntries(Object.values(first as Record<string, unknown>)[0])
    return []
  }
  if (typeof reply === 'object') return parseEntries(Object.values(reply as Record<string, unknown>)[0])
  return []
}

/**
 * UNLINKs `keys` in batches of 500; where the runner groups keys (a cluster), each batch is split
 * by slot and its groups sent concurrently. Resolves to how many keys existed.
 */
export async function unlinkWith(run: CommandRunner, keys: readonly string[]): Promise<number> {
  let removed = 0
  for (let i = 0; i < keys.length; i += 500) {
    const batch = keys.slice(i, i + 500)
    if (run.group === undefined) {
      removed += Number(await run.command(['UNLINK', ...batch], batch[0]))
      continue
    }
    const counts = await Promise.all(run.group(batch).map((group) => run.command(['UNLINK', ...group], group[0])))
    for (const count of counts) removed += Number(count)
  }
  return removed
}

/** Removes every member of a tag set, and the set, in batches of UNLINK. */
export async function deleteTagWith(run: CommandRunner, tagKey: string): Promise<number> {
  const members = await run.command(['SMEMBERS', tagKey], tagKey)
  // a RESP3 client may map the set reply to a Set
  const keys = Array.isArray(members) ? members.map(String) : members instanceof Set ? [...members].map(String) : []
  const removed = await unlinkWith(run, keys)
  await run.command(['UNLINK', tagKey], tagKey)
  return removed
}

/** The stream side of the invalidation bus (publish, head, read) over any runner. */
export function streamBus(run: CommandRunner, stream: string, channel: string, maxLen: number): InvalidationBus {
  return {
    async publish(message) {
      return String(await run.script(PUBLISH_SCRIPT, [stream], [message, String(maxLen), channel]))
    },
    async head() {
      return String(await run.script(HEAD_SCRIPT, [stream], [String(maxLen)]))
    },
    async read(cursor, count) {
      const entries = parseEntries(await run.script(READ_SCRIPT, [stream], [cursor, String(count + 1)], true))
      const found = entries[0]?.id === cursor
      return { found, entries: (found ? entries.slice(1) : entries).map((e) => ({ id: e.id, message: e.fields.m ?? '' })) }
    },
  }
}

/** Splits a Pub/Sub payload `<id>|<message>`. */
export function splitPayload(payload: string): [string, string] {
  const bar = payload.indexOf('|')
  return bar < 0 ? ['', payload] : [payload.slice(0, bar), payload.slice(bar + 1)]
}

/** Deletes the lock only if it still holds our token, so an expired lock taken over by another holder is left alone. */
export const UNLOCK_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`
