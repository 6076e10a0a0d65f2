/**
 * L1: a bounded, per-isolate LRU holding live values, on a `Map` whose value is the entry itself.
 *
 * Why not a general-purpose LRU library: it keeps a node of its own around each value, and the
 * cache's entry (the value and its lifetimes) would be one more object with three boxed
 * timestamps. Measured at 100k entries of ~220-byte objects: a plain `Map` 414 B per entry;
 * tiny-lru holding the bare values 504 B; tiny-lru holding the cache's entries 609 B (1.47× the
 * `Map`). Here the entry is the list node, and it keeps one timestamp unless the entry has a
 * grace window, a refresh point or tags (see `bench/heap.ts` for the figure).
 * @module
 */
import type { L1Entry, L1Store } from '../src/contracts.js'
import { checkPositive } from '../src/options.js'
import { parseDuration, type Duration } from '../src/duration.js'
import { InvalidOptionError } from '../src/errors.js'

/** Options of {@link lru}. */
export interface LruOptions {
  /** Most entries held; the least recently used is evicted past it. @default 10000 */
  max?: number
  /** Cap on how long an entry stays in L1, whatever its TTL in L2 (0: no cap). @default 0 */
  ttl?: Duration
  /**
   * Store and return copies (`structuredClone`) instead of the live value, so callers cannot
   * mutate the cached value. Costs a clone per hit. @default false
   */
  clone?: boolean
}

/** What an entry has beyond its value and expiry; most entries have none of it. */
interface Extra {
  readonly staleUntil: number
  readonly refreshAt: number
  readonly tags: readonly string[] | undefined
}

/** An entry and its place in the recency list. `get` returns it as the `L1Entry`. */
class Node {
  prev: Node | undefined = undefined
  next: Node | undefined = undefined
  value!: unknown
  expiresAt!: number
  extra: Extra | undefined

  constructor(
    readonly key: string,
    entry: L1Entry,
  ) {
    this.replace(entry)
  }

  /** Takes the value and lifetimes of `entry` (also on a set over an existing key). */
  replace(entry: L1Entry): void {
    this.value = entry.value
    this.expiresAt = entry.expiresAt
    this.extra = extraOf(entry)
  }

  get staleUntil(): number {
    return this.extra === undefined ? this.expiresAt : this.extra.staleUntil
  }

  get refreshAt(): number {
    return this.extra === undefined ? Number.POSITIVE_INFINITY : this.extra.refreshAt
  }

  get tags(): readonly string[] | undefined {
    return this.extra?.tags
  }
}

function extraOf(entry: L1Entry): Extra | undefined {
  const tags = entry.tags !== undefined && entry.tags.length > 0 ? entry.tags : undefined
  if (entry.staleUntil === entry.expiresAt && entry.refreshAt === Number.POSITIVE_INFINITY && tags === undefined) return undefined
  return { staleUntil: entry.staleUntil, refreshAt: entry.refreshAt, tags }
}

/** Least recently used first (`head`), most recently used last (`tail`). */
class Recency {
  readonly #items = new Map<string, Node>()
  #head: Node | undefined
  #tail: Node | undefined

  constructor(readonly max: number) {}

  get size(): number {
    return this.#items.size
  }

  get(key: string): Node | undefined {
    const node = this.#items.get(key)
    if (node !== undefined && node !== this.#tail) {
      this.#unlink(node)
      this.#append(node)
    }
    return node
  }

  set(key: string, entry: L1Entry): void {
    const node = this.#items.get(key)
    if (node !== undefined) {
      node.replace(entry)
      if (node !== this.#tail) {
        this.#unlink(node)
        this.#append(node)
      }
      return
    }
    const added = new Node(key, entry)
    this.#items.set(key, added)
    this.#append(added)
    if (this.#items.size > this.max) this.delete(this.#head!.key)
  }

  delete(key: string): void {
    const node = this.#items.get(key)
    if (node === undefined) return
    this.#items.delete(key)
    this.#unlink(node)
  }

  clear(): void {
    this.#items.clear()
    this.#head = this.#tail = undefined
  }

  #unlink(node: Node): void {
    if (node.prev === undefined) this.#head = node.next
    else node.prev.next = node.next
    if (node.next === undefined) this.#tail = node.prev
    else node.next.prev = node.prev
    node.prev = node.next = undefined
  }

  #append(node: Node): void {
    node.prev = this.#tail
    if (this.#tail === undefined) this.#head = node
    else this.#tail.next = node
    this.#tail = node
  }
}

/**
 * Creates an L1 store: a bounded LRU in this isolate.
 *
 * A hit returns the stored reference: the object you get is the object in the cache, so
 * mutating it changes what later hits see. That is what makes an L1 hit as cheap as a
 * `Map.get`. Pass `clone: true` to get copies instead.
 *
 * Each cache needs its own `lru()`; the engine refuses to share one between caches.
 *
 * @example
 * ```ts
 * import { createCache } from 'tiercache'
 * import { lru } from 'tiercache/lru'
 * const cache = createCache({ namespace: 'user', l1: lru({ max: 50_000, ttl: '1m' }) })
 * ```
 */
export function lru(options: LruOptions = {}): L1Store {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('lru() options must be an object', { option: 'lru' })
  const max = checkPositive(options.max, 'lru.max', 10_000, true)
  const maxTtl = options.ttl === undefined ? 0 : parseDuration(options.ttl, 'lru.ttl')
  if (options.clone !== undefined && typeof options.clone !== 'boolean') {
    throw new InvalidOptionError('lru.clone must be a boolean', { option: 'lru.clone' })
  }
  // no expiry of its own: the engine checks each entry's lifetimes itself (one clock read per hit)
  const items = new Recency(max)
  if (options.clone === true) {
    return {
      kind: 'l1',
      name: 'lru',
      maxTtl,
      get(key) {
        const node = items.get(key)
        if (node === undefined) return undefined
        const { tags } = node
        const copy = { value: structuredClone(node.value), expiresAt: node.expiresAt, staleUntil: node.staleUntil, refreshAt: node.refreshAt }
        return tags === undefined ? copy : { ...copy, tags }
      },
      set(key, entry) {
        items.set(key, { ...entry, value: structuredClone(entry.value) })
      },
      delete: (key) => items.delete(key),
      clear: () => items.clear(),
      get size() {
        return items.size
      },
    }
  }
  return {
    kind: 'l1',
    name: 'lru',
    maxTtl,
    get: (key) => items.get(key) as L1Entry | undefined,
    set: (key, entry) => items.set(key, entry),
    delete: (key) => items.delete(key),
    clear: () => items.clear(),
    get size() {
      return items.size
    },
  }
}
