import type { Clock } from './contracts.js'

/** `closed`: calls go through. `open`: calls are skipped until the cool-down ends. `half-open`: one probe call decides. */
export type CircuitState = 'closed' | 'open' | 'half-open'

/** Options of the per-tier circuit breaker. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. @default 5 */
  failures?: number
  /** How long the circuit stays open before one probe call is let through. @default '10s' */
  cooldown?: number | string
}

/**
 * Counts consecutive failures of one tier. After `failures` of them the circuit opens and
 * calls are skipped for `cooldown` ms; then one call probes: success closes the circuit,
 * failure opens it again for another cool-down.
 */
export class CircuitBreaker {
  #state: CircuitState = 'closed'
  #failures = 0
  #openUntil = 0
  #probing = false
  #opened = 0

  constructor(
    private readonly threshold: number,
    private readonly cooldown: number,
    private readonly clock: Clock,
    private readonly onChange: (state: CircuitState) => void,
  ) {}

  get state(): CircuitState {
    return this.#state
  }

  /** Consecutive failures since the last success. */
  get failures(): number {
    return this.#failures
  }

  /** How many times the circuit has opened. */
  get opened(): number {
    return this.#opened
  }

  /** Whether a call may go through now; in half-open only the one probe may. */
  allow(): boolean {
    if (this.#state === 'closed') return true
    if (this.#state === 'open') {
      if (this.clock.now() < this.#openUntil) return false
      this.#set('half-open')
    }
    if (this.#probing) return false
    this.#probing = true
    return true
  }

  success(): void {
    this.#failures = 0
    this.#probing = false
    if (this.#state !== 'closed') this.#set('closed')
  }

  failure(): void {
    this.#failures++
    this.#probing = false
    if (this.#state === 'half-open' || (this.#state === 'closed' && this.#failures >= this.threshold)) {
      this.#openUntil = this.clock.now() + this.cooldown
      this.#opened++
      this.#set('open')
    }
  }

  #set(state: CircuitState): void {
    this.#state = state
    this.onChange(state)
  }
}
