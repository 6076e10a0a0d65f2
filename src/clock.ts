/**
 * A cheaper system clock for hot paths. On the virtual machines caches usually run on, one
 * `Date.now()` costs 30–40 ns — about as much as the rest of an in-process hit together.
 * @module
 */
import type { Clock } from './contracts.js'
import { InvalidOptionError } from './errors.js'

/** Options of {@link coarseClock}. */
export interface CoarseClockOptions {
  /**
   * Most readings served from one system read, so a chain of awaits that never ends its task
   * (in-memory hits in a loop) still sees time move. @default 64
   */
  reads?: number
}

/** Runs `callback` when the current event-loop task is over (`setImmediate`), else after 1 ms. */
function endOfTask(callback: () => void): void {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate
  if (typeof immediate === 'function') immediate(callback)
  else unrefTimer(setTimeout(callback, 1))
}

/**
 * A system clock that reuses one `Date.now()` until the current event-loop task ends (an I/O
 * callback, a timer, a request) or for `reads` readings, whichever comes first. A reading
 * lags the system clock by at most the time one task takes or `reads` readings take. It arms
 * no timer: the end of a task is marked with one `setImmediate`, which runs at the end of the
 * same event-loop turn (a timer would wake an idle process, and on a VM one wake-up costs
 * more CPU than the clock reads it saves). Idle, it schedules nothing.
 * The node, bun, deno and default entries use one for their caches. Not for Cloudflare
 * Workers: there `Date.now()` already stands still during a request.
 *
 * @example
 * ```ts
 * import { createCacheWith, coarseClock } from 'tiercache/core'
 * const cache = createCacheWith({ namespace: 'user', l1: lru(), clock: coarseClock({ reads: 256 }) })
 * ```
 */
export function coarseClock(options: CoarseClockOptions = {}): Clock {
  const reads = options.reads ?? 64
  if (!Number.isInteger(reads) || reads < 1) {
    throw new InvalidOptionError(`coarseClock: reads must be an integer ≥ 1; got ${String(reads)}`, { option: 'coarseClock.reads' })
  }
  let time = 0
  let left = 0
  let deferred = false
  const expire = (): void => {
    deferred = false
    left = 0
  }
  const read = (): number => {
    time = Date.now()
    left = reads
    if (!deferred) {
      deferred = true
      endOfTask(expire)
    }
    return time
  }
  const clock: Clock = { now: () => (--left > 0 ? time : read()) }
  coarse.add(clock)
  return clock
}

const coarse = new WeakSet<Clock>()

/**
 * Makes a timer not keep the process alive, where timers have `unref()` (Node, Bun); a no-op
 * elsewhere.
 * @example unrefTimer(setTimeout(poll, 1000))
 */
export function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  ;(timer as { unref?: () => void }).unref?.()
}

/**
 * Whether `clock` came from {@link coarseClock} (what `diagnostics().config.clock` reports).
 * @example isCoarseClock(coarseClock()) // true; isCoarseClock(systemClock) // false
 */
export function isCoarseClock(clock: Clock): boolean {
  return coarse.has(clock)
}
