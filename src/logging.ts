/**
 * Turns cache events into log records that are safe to ship: never values, never secrets,
 * keys only when asked for.
 * @module
 */
import type { CacheEvent } from './events.js'
import { redactSecrets } from './observability.js'

/** One log record, as given to the `log` sink of {@link eventLogger}. */
export interface LogRecord {
  level: 'info' | 'warn' | 'error'
  /** The event type, e.g. `l2:error`. */
  event: CacheEvent['type']
  namespace: string
  /** A one-line summary without values or secrets. */
  message: string
  [field: string]: unknown
}

/** Options of {@link eventLogger}. */
export interface EventLoggerOptions {
  /** Where records go. @default one JSON line per record on `console.log` (warn/error on `console.warn`/`console.error`) */
  log?: (record: LogRecord) => void
  /** Include keys (they may be personal data); otherwise only their count. @default false */
  keys?: boolean
  /** Event types to log. @default every type but the per-request `hit`, `miss` and `load` */
  types?: readonly CacheEvent['type'][]
}

const QUIET: ReadonlySet<CacheEvent['type']> = new Set(['hit', 'miss', 'load'])

/**
 * An `onEvent` listener that logs events. A record carries the event type, the namespace, the
 * tier and operation, counts, and errors as their `code`/name; a loader's error message (which
 * may contain data) is never logged, and tiercache's own messages are logged with URL
 * credentials and tokens removed and, unless `keys`, without the keys they name.
 * @example createCache({ namespace: 'user', onEvent: eventLogger({ keys: false }) })
 */
export function eventLogger(options: EventLoggerOptions = {}): (event: CacheEvent) => void {
  const withKeys = options.keys === true
  const types = options.types === undefined ? undefined : new Set(options.types)
  const log = options.log ?? defaultSink
  return (event) => {
    if (types === undefined ? QUIET.has(event.type) : !types.has(event.type)) return
    log(toRecord(event, withKeys))
  }
}

function defaultSink(record: LogRecord): void {
  const line = JSON.stringify(record)
  if (record.level === 'error') console.error(line)
  else if (record.level === 'warn') console.warn(line)
  else console.log(line)
}

/** The log record of one event (exported for tests and custom sinks). */
export function toRecord(event: CacheEvent, withKeys: boolean): LogRecord {
  const keyFields = (keys: readonly string[] | undefined): Record<string, unknown> =>
    keys === undefined ? {} : withKeys ? { keys: [...keys] } : { keyCount: keys.length }
  const keyField = (key: string): Record<string, unknown> => (withKeys ? { key } : {})
  const base = { event: event.type, namespace: event.namespace }
  switch (event.type) {
    case 'hit':
      return { ...base, level: 'info', message: `hit in ${event.tier}${event.stale ? ' (stale)' : ''}`, tier: event.tier, stale: event.stale, ...keyField(event.key) }
    case 'miss':
      return { ...base, level: 'info', message: event.loaded ? 'miss, loaded' : 'miss', loaded: event.loaded, ...keyField(event.key) }
    case 'load':
      return { ...base, level: 'info', message: `loader ${event.ok ? 'finished' : 'failed'} in ${Math.round(event.durationMs)} ms`, ok: event.ok, durationMs: event.durationMs, ...keyFields(event.keys) }
    case 'l2:error': {
      const error = errorFields(event.error, withKeys ? [] : event.keys, true)
      return { ...base, level: 'warn', message: `${event.tier} ${event.operation} ${event.skipped ? 'skipped (circuit open)' : event.timeout ? 'timed out' : 'failed'}`, tier: event.tier, operation: event.operation, timeout: event.timeout, skipped: event.skipped, ...keyFields(event.keys), error }
    }
    case 'corrupt':
      return { ...base, level: 'warn', message: `undecodable entry in ${event.tier}, treated as a miss`, tier: event.tier, ...keyField(event.key) }
    case 'load:error':
      return { ...base, level: 'error', message: 'loader failed', ...keyFields(event.keys), error: errorFields(event.error, withKeys ? [] : event.keys, false) }
    case 'load:timeout':
      return { ...base, level: 'warn', message: `loader passed loaderTimeout.hard (${event.timeout} ms)`, timeout: event.timeout, ...keyFields(event.keys) }
    case 'refresh:error':
      return { ...base, level: 'warn', message: 'background refresh failed', ...keyField(event.key), error: errorFields(event.error, withKeys ? [] : [event.key], false) }
    case 'circuit':
      return { ...base, level: event.state === 'open' ? 'warn' : 'info', message: `${event.tier} circuit ${event.state}`, tier: event.tier, state: event.state }
    case 'stale':
      return { ...base, level: 'info', message: `stale value served (${event.reason})`, reason: event.reason, ...keyField(event.key) }
    case 'invalidation':
      return {
        ...base, level: 'info', message: event.clear === true ? 'namespace cleared by another instance' : 'invalidation applied',
        ...keyFields(event.keys), ...(event.tags !== undefined ? (withKeys ? { tags: [...event.tags] } : { tagCount: event.tags.length }) : {}),
        ...(event.clear === true ? { clear: true } : {}),
      }
  }
}

/**
 * An error as log fields: its name and code; the message only for tiercache's own errors
 * (`ours`: L2 failures), with secrets and the given keys removed. A loader's error is the
 * application's and may carry data: only its name is kept.
 */
function errorFields(error: unknown, hideKeys: readonly string[], ours: boolean): Record<string, unknown> {
  if (!(error instanceof Error)) return { name: typeof error }
  const code = (error as { code?: unknown }).code
  const fields: Record<string, unknown> = { name: error.name, ...(typeof code === 'string' ? { code } : {}) }
  if (ours) {
    let message = redactSecrets(error.message)
    for (const key of hideKeys) message = message.split(key).join('<key>')
    fields.message = message
  }
  return fields
}
