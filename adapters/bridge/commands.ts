/**
 * Which commands the bridge runs, refuses, or runs on a connection of their own.
 * @module
 */

/**
 * Refused unless allowed: commands that wipe, reconfigure, stop or block a shared server, or
 * list every key. Entries are a command (`FLUSHALL`) or a command and subcommand (`SCRIPT FLUSH`).
 */
export const DEFAULT_DENIED: readonly string[] = [
  'FLUSHALL', 'FLUSHDB', 'CONFIG', 'DEBUG', 'SHUTDOWN', 'MONITOR', 'SAVE', 'BGSAVE', 'BGREWRITEAOF',
  'REPLICAOF', 'SLAVEOF', 'MODULE', 'ACL', 'CLUSTER', 'MIGRATE', 'SWAPDB', 'KEYS', 'SCRIPT FLUSH',
  'FUNCTION FLUSH', 'FAILOVER', 'SYNC', 'PSYNC', 'CLIENT KILL', 'CLIENT PAUSE', 'LATENCY RESET',
]

/** State that belongs to one connection; the bridge shares its connection between requests. */
const CONNECTION_STATE = new Set([
  'select', 'auth', 'hello', 'reset', 'quit', 'multi', 'exec', 'discard', 'watch', 'unwatch',
  'subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe', 'readonly', 'readwrite',
  'client setname', 'client tracking', 'client reply', 'client no-evict', 'client no-touch',
])

const BLOCKING = new Set([
  'blpop', 'brpop', 'brpoplpush', 'blmove', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop', 'wait', 'waitaof',
])

function normalize(entry: string): string {
  return entry.trim().replace(/\s+/g, ' ').toLowerCase()
}

/** The command's name, and its name with subcommand (`script flush`). */
function names(args: readonly string[]): [string, string] {
  const name = (args[0] ?? '').toLowerCase()
  return [name, args.length > 1 ? `${name} ${String(args[1]).toLowerCase()}` : name]
}

/** Decides about commands; built once per bridge from its allow and deny lists. */
export interface CommandPolicy {
  /** Why `args` is refused (403), or undefined. */
  denied(args: readonly string[]): string | undefined
  /** Why `args` cannot run on a shared connection (400), or undefined. */
  unsupported(args: readonly string[]): string | undefined
  /** Whether `args` may block its connection (it then gets a connection of its own). */
  blocking(args: readonly string[]): boolean
}

export function commandPolicy(allow: readonly string[] = [], deny: readonly string[] = []): CommandPolicy {
  const allowed = new Set(allow.map(normalize))
  const deniedSet = new Set([...DEFAULT_DENIED.map(normalize), ...deny.map(normalize)].filter((entry) => !allowed.has(entry)))
  return {
    denied(args) {
      const [name, full] = names(args)
      const hit = deniedSet.has(full) ? full : deniedSet.has(name) ? name : undefined
      if (hit === undefined) return undefined
      return `ERR command '${hit.toUpperCase()}' is refused by this bridge (allow it with the bridge's allow option or BRIDGE_ALLOW)`
    },
    unsupported(args) {
      const [name, full] = names(args)
      if (!CONNECTION_STATE.has(name) && !CONNECTION_STATE.has(full)) return undefined
      const hint = name.endsWith('subscribe') ? 'use POST /subscribe/<channel> or /psubscribe/<pattern>'
        : ['multi', 'exec', 'discard', 'watch', 'unwatch'].includes(name) ? 'use POST /multi-exec'
        : 'the bridge shares its connections between requests'
      return `ERR command '${(full === name ? name : full).toUpperCase()}' is not supported over REST: ${hint}`
    },
    blocking(args) {
      const [name] = names(args)
      if (BLOCKING.has(name)) return true
      return (name === 'xread' || name === 'xreadgroup') && args.some((arg) => arg.toLowerCase() === 'block')
    },
  }
}
