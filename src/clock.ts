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
   * Longest time, in ms, a reading is reused; a timer that fires after it makes the next read
   * ask the system again. @default 1
   */
  resolution?: number
  /**
   * Most readings served from one system read, so a loop that never yields to timers (a chain
   * of awaits on in-memory hits) still sees time move. @default 256
   */
  reads?: number
  /**
   * Makes the timer not keep the process alive, for runtimes whose timers have no `unref()`
   * (Deno: `(id) => Deno.unrefTimer(id)`). @default calls `timer.unref()` when it has one
   */
  unref?: (timer: ReturnType<typeof setTimeout>) => void
}

/**
 * A system clock that reuses one `Date.now()` for up to `resolution` ms or `reads` readings,
 * whichever ends first. Idle, it arms no timer; busy, at most one short timer per `resolution`.
 * Readings lag the system clock by at most about `resolution` ms while the event loop turns;
 * a loop that blocks it sees at most `reads` readings of one instant. Lifetimes of seconds
 * and more do not notice; the node, bun, deno and default entries use it for their caches.
 * Not for Cloudflare Workers: there a timer dies with the request that armed it, and
 * `Date.now()` already stands still during a request.
 *
 * @example
 * ```ts
 * import { createCacheWith, coarseClock } from 'tiercache/core'
 * const cache = createCacheWith({ namespace: 'user', l1: lru(), clock: coarseClock({ resolution: 5 }) })
 * ```
 */
export function coarseClock(options: CoarseClockOptions = {}): Clock {
  const resolution = options.resolution ?? 1
  const reads = options.reads ?? 256
  if (typeof resolution !== 'number' || !(resolution >= 1) || !Number.isFinite(resolution)) {
    throw new InvalidOptionError(`coarseClock: resolution must be a finite number of ms ≥ 1; got ${String(resolution)}`, { option: 'coarseClock.resolution' })
  }
  if (!Number.isInteger(reads) || reads < 1) {
    throw new InvalidOptionError(`coarseClock: reads must be an integer ≥ 1; got ${String(reads)}`, { option: 'coarseClock.reads' })
  }
  const unref = options.unref ?? ((timer: ReturnType<typeof setTimeout>) => (timer as { unref?: () => void }).unref?.())
  let time = 0
  let left = 0
  let armed = false
  const expire = (): void => {
    armed = false
    left = 0
  }
  const read = (): number => {
    time = Date.now()
    left = reads
    if (!armed) {
      armed = true
      unref(setTimeout(expire, resolution))
    }
    return time
  }
  const clock: Clock = { now: () => (--left > 0 ? time : read()) }
  coarse.add(clock)
  return clock
}

const coarse = new WeakSet<Clock>()

/** Whether `clock` came from {@link coarseClock} (for diagnostics). */
export function isCoarseClock(clock: Clock): boolean {
  return coarse.has(clock)
}
