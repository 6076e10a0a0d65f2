/**
 * Time limits of one length for many operations, kept with one timer. Every operation gets
 * the same limit, so their deadlines come in the order the operations start: a list in that
 * order, whose head is always the next to expire, needs one timer for all of them. Adding
 * and removing are O(1) and arm no timer while one is armed; under steady traffic the timer
 * fires about once per limit. A timer per operation costs more than the rest of the engine's
 * work on an L2 read (two timer-list updates, ~1–2 µs on Node).
 * @module
 */
import type { Clock } from './contracts.js'

/** One operation's time limit; `fire` runs if it is still in the list at its deadline. */
export interface Deadline {
  readonly at: number
  readonly fire: () => void
  prev: Deadline | undefined
  next: Deadline | undefined
  /** False once it fired or was removed. */
  linked: boolean
}

/** Runtime support for {@link DeadlineList}: a real-time clock and a way to unref a timer. */
export interface SharedTimer {
  /** Real time (a fake test clock would never let a limit expire). */
  readonly clock: Clock
  /** Makes a timer not keep the process alive: the list's timer may outlive its last operation. */
  readonly unref: (timer: ReturnType<typeof setTimeout>) => void
}

export class DeadlineList {
  #head: Deadline | undefined
  #tail: Deadline | undefined
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    readonly ms: number,
    readonly shared: SharedTimer,
  ) {}

  /** Starts a time limit of `ms`; `fire` runs at its end unless `remove` came first. */
  add(fire: () => void): Deadline {
    const deadline: Deadline = { at: this.shared.clock.now() + this.ms, fire, prev: this.#tail, next: undefined, linked: true }
    if (this.#tail === undefined) this.#head = deadline
    else this.#tail.next = deadline
    this.#tail = deadline
    if (this.#timer === undefined) this.#arm(this.ms)
    return deadline
  }

  /** Ends a time limit early (its operation settled). */
  remove(deadline: Deadline): void {
    if (!deadline.linked) return
    deadline.linked = false
    if (deadline.prev === undefined) this.#head = deadline.next
    else deadline.prev.next = deadline.next
    if (deadline.next === undefined) this.#tail = deadline.prev
    else deadline.next.prev = deadline.prev
    deadline.prev = deadline.next = undefined
  }

  /** Stops the timer; limits still in the list never fire. */
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#head = this.#tail = undefined
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(this.#expire, delay)
    this.shared.unref(this.#timer)
  }

  readonly #expire = (): void => {
    this.#timer = undefined
    const now = this.shared.clock.now()
    let head = this.#head
    while (head !== undefined && head.at <= now) {
      this.remove(head)
      try {
        head.fire()
      } catch {
        // one limit's handler must not keep the others from firing
      }
      head = this.#head
    }
    if (head !== undefined) this.#arm(Math.max(1, head.at - now))
  }
}
