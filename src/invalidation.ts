/**
 * Keeps the L1s of many instances consistent: every write publishes a message on the
 * namespace's bus (a Redis Stream, plus Pub/Sub where a connection can be held); every
 * instance applies the messages of the others to its own L1. Readers keep a cursor into the
 * stream, so after a reconnect (Pub/Sub) or between polls (HTTP, Workers) nothing is lost;
 * when the cursor fell off the trimmed stream, the whole L1 is flushed.
 * @module
 */
import type { Clock, InvalidationBus } from './contracts.js'

/** What one message says: keys, tags, or the whole namespace changed. */
export interface InvalidationMessage {
  keys?: readonly string[]
  tags?: readonly string[]
  clear?: boolean
}

/** `pubsub`: instant, with stream catch-up; `stream`: request-driven polling of the stream. */
export type Transport = 'pubsub' | 'stream'

export interface InvalidationStats {
  transport: Transport | 'off'
  /** Messages this instance published. */
  published: number
  publishFailures: number
  /** Messages from other instances received (own messages are skipped). */
  received: number
  /** Received messages applied to this L1. */
  applied: number
  /** Messages that could not be parsed. */
  receiveFailures: number
  /** Whole-L1 flushes because the cursor fell off the trimmed stream. */
  flushes: number
  polls: number
  pollFailures: number
  /** Pub/Sub (re)subscriptions. */
  subscriptions: number
  /** ms since this instance last knew it had every message (0 while subscribed and caught up). */
  cursorLagMs: number
  /** Whether the Pub/Sub listener runs. */
  listening: boolean
}

export interface SyncHooks {
  apply(message: InvalidationMessage): void
  flush(): void
  /** Runs a bus call under the tier's timeout and breaker; FAILED on failure. */
  call<T>(operation: string, run: () => Promise<T>): Promise<T | typeof FAILED>
  /** Hands background work to the platform (waitUntil) and close(). */
  track(promise: Promise<unknown>): void
  onError(operation: string, error: unknown): void
}

export const FAILED: unique symbol = Symbol('failed')

const READ_BATCH = 500
const MAX_UNSENT = 1000
/** After a (re)subscription, one more catch-up this much later covers messages published before the subscription took effect. */
const SETTLE_MS = 250

/** Compares stream ids `<ms>-<seq>`. */
export function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-')
  const [bm = '0', bs = '0'] = b.split('-')
  return Number(am) - Number(bm) || Number(as) - Number(bs)
}

export class InvalidationSync {
  readonly #bus: InvalidationBus
  readonly #transport: Transport
  readonly #pollInterval: number
  readonly #clock: Clock
  /** Made on first use: workerd forbids random values at module scope, where a cache may be created. */
  #origin: string | undefined
  readonly #hooks: SyncHooks
  readonly #listen: boolean
  #cursor: string | undefined
  #nextPoll = 0
  #polling: Promise<void> | undefined
  #lastSync = 0
  #unsubscribe: (() => Promise<void>) | undefined
  #subscribing: Promise<void> | undefined
  #listening = false
  #closed = false
  /** Ends the wait before the post-subscription catch-up (see SETTLE_MS). */
  #endSettle: (() => void) | undefined
  /**
   * Whether every message after the cursor has reached this instance over Pub/Sub, so a
   * received id may move the cursor. False from a lost connection until the catch-up after
   * the next subscription is done: a message with a later id must not skip the gap.
   */
  #contiguous = false
  #epoch = 0
  readonly #unsent: string[] = []
  readonly #counts = {
    published: 0, publishFailures: 0, received: 0, applied: 0, receiveFailures: 0, flushes: 0, polls: 0, pollFailures: 0, subscriptions: 0,
  }

  /**
   * @param listen false for an instance without L1: it only publishes
   */
  constructor(options: { bus: InvalidationBus; transport: Transport; pollInterval: number; clock: Clock; listen: boolean; hooks: SyncHooks }) {
    this.#bus = options.bus
    this.#transport = options.transport
    this.#pollInterval = options.pollInterval
    this.#clock = options.clock
    this.#listen = options.listen
    this.#hooks = options.hooks
    this.#lastSync = this.#clock.now()
  }

  get origin(): string {
    return (this.#origin ??= crypto.randomUUID())
  }

  /** Epoch ms when the next poll is due; Infinity when this instance does not poll. */
  get nextPoll(): number {
    return this.#listen && this.#transport === 'stream' ? this.#nextPoll : Number.POSITIVE_INFINITY
  }

  /** Pub/Sub: starts listening (and retries on later calls if Redis was unreachable). */
  start(): void {
    if (!this.#listen || this.#transport !== 'pubsub' || this.#closed || this.#listening || this.#subscribing !== undefined) return
    const subscribe = this.#bus.subscribe
    if (subscribe === undefined) return
    this.#subscribing = (async () => {
      try {
        if (this.#cursor === undefined) {
          const head = await this.#hooks.call('head', () => this.#bus.head())
          if (head === FAILED) return
          this.#cursor = head
        }
        const unsubscribe = await subscribe.call(
          this.#bus,
          (id, message) => this.#receive(id, message),
          () => this.#onSubscribed(),
          () => this.#onLost(),
        )
        if (this.#closed) {
          await unsubscribe()
          return
        }
        this.#unsubscribe = unsubscribe
        this.#listening = true
      } catch (error) {
        this.#hooks.onError('subscribe', error)
      } finally {
        this.#subscribing = undefined
      }
    })()
    this.#hooks.track(this.#subscribing)
  }

  /** Waits until a subscription attempt in progress has finished. */
  async ready(): Promise<void> {
    await this.#subscribing
  }

  /** Publishes a message (and any that failed before); never throws. */
  async publish(message: InvalidationMessage): Promise<void> {
    const text = JSON.stringify({ o: this.origin, ...(message.keys ? { k: message.keys } : {}), ...(message.tags ? { t: message.tags } : {}), ...(message.clear ? { c: 1 } : {}) })
    const batch = [...this.#unsent.splice(0), text]
    for (let i = 0; i < batch.length; i++) {
      const result = await this.#hooks.call('publish', () => this.#bus.publish(batch[i]!))
      if (result === FAILED) {
        this.#counts.publishFailures++
        // kept for the next publish: an invalidation is retried, not dropped
        this.#unsent.push(...batch.slice(i))
        if (this.#unsent.length > MAX_UNSENT) this.#unsent.splice(0, this.#unsent.length - MAX_UNSENT)
        return
      }
      this.#counts.published++
    }
  }

  /** Stream polling: reads what is new when a poll is due; concurrent callers share one poll. */
  poll(): Promise<void> {
    this.#polling ??= this.#catchUp('poll').then(() => undefined).finally(() => {
      this.#polling = undefined
      this.#nextPoll = this.#clock.now() + this.#pollInterval
    })
    return this.#polling
  }

  stats(): InvalidationStats {
    const caughtUp = this.#transport === 'pubsub' && this.#listening
    return {
      transport: this.#transport,
      ...this.#counts,
      cursorLagMs: caughtUp ? 0 : Math.max(0, this.#clock.now() - this.#lastSync),
      listening: this.#listening,
    }
  }

  get cursor(): string | undefined {
    return this.#cursor
  }

  get unsent(): number {
    return this.#unsent.length
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#endSettle?.()
    this.#endSettle = undefined
    await this.#subscribing
    const unsubscribe = this.#unsubscribe
    this.#unsubscribe = undefined
    this.#listening = false
    await unsubscribe?.()
  }

  #onLost(): void {
    this.#contiguous = false
    this.#epoch++
  }

  #onSubscribed(): void {
    this.#counts.subscriptions++
    this.#contiguous = false
    const epoch = ++this.#epoch
    this.#hooks.track(this.#catchUp('catch-up'))
    // a message published just before the subscription took effect is caught by a second look;
    // only then may Pub/Sub ids move the cursor again
    this.#hooks.track(new Promise<void>((resolve) => {
      // close() ends the wait at once rather than holding shutdown for SETTLE_MS
      const timer = setTimeout(() => (this.#endSettle = undefined, resolve()), SETTLE_MS)
      this.#endSettle = () => {
        clearTimeout(timer)
        resolve()
      }
    }).then(async () => {
      if (this.#closed || epoch !== this.#epoch) return
      if ((await this.#catchUp('catch-up')) && epoch === this.#epoch) this.#contiguous = true
    }))
  }

  #receive(id: string, message: string): void {
    if (this.#contiguous && (this.#cursor === undefined || compareIds(id, this.#cursor) > 0)) {
      this.#cursor = id
      this.#lastSync = this.#clock.now()
    }
    this.#handle(message)
  }

  #handle(text: string): void {
    if (text === '') return // the marker entry of an empty stream
    let parsed: { o?: unknown; k?: unknown; t?: unknown; c?: unknown }
    try {
      parsed = JSON.parse(text) as typeof parsed
    } catch {
      this.#counts.receiveFailures++
      return
    }
    if (parsed.o === this.origin) return
    this.#counts.received++
    const keys = Array.isArray(parsed.k) ? parsed.k.filter((k): k is string => typeof k === 'string') : undefined
    const tags = Array.isArray(parsed.t) ? parsed.t.filter((t): t is string => typeof t === 'string') : undefined
    if (keys === undefined && tags === undefined && parsed.c !== 1) {
      this.#counts.receiveFailures++
      return
    }
    this.#hooks.apply({ ...(keys ? { keys } : {}), ...(tags ? { tags } : {}), ...(parsed.c === 1 ? { clear: true } : {}) })
    this.#counts.applied++
  }

  /** Reads every entry after the cursor; a lost cursor flushes the L1. */
  async #catchUp(operation: 'poll' | 'catch-up'): Promise<boolean> {
    if (operation === 'poll') this.#counts.polls++
    const started = this.#clock.now()
    if (this.#cursor === undefined) {
      const head = await this.#hooks.call('head', () => this.#bus.head())
      if (head === FAILED) {
        if (operation === 'poll') this.#counts.pollFailures++
        return false
      }
      this.#cursor = head
      this.#lastSync = started
      return true
    }
    for (;;) {
      const cursor: string = this.#cursor
      const batch = await this.#hooks.call(operation, () => this.#bus.read(cursor, READ_BATCH))
      if (batch === FAILED) {
        if (operation === 'poll') this.#counts.pollFailures++
        return false
      }
      if (!batch.found) {
        this.#counts.flushes++
        this.#hooks.flush()
        const newest = batch.entries.at(-1)?.id
        if (newest === undefined) {
          const head = await this.#hooks.call('head', () => this.#bus.head())
          if (head === FAILED) return false
          this.#cursor = head
        } else this.#cursor = newest
        this.#lastSync = started
        return true
      }
      for (const entry of batch.entries) {
        if (compareIds(entry.id, this.#cursor) > 0) this.#cursor = entry.id
        this.#handle(entry.message)
      }
      if (batch.entries.length < READ_BATCH) break
    }
    this.#lastSync = started
    return true
  }
}
