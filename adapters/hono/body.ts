/**
 * Reading a response body for the cache without holding the client back.
 *
 * A body that is already complete (what `c.json()`, `c.text()`, `c.body(bytes)` make: every
 * chunk is readable without waiting for I/O) is read at once, and the client gets the same bytes.
 * A body still being produced when a macrotask has passed (`c.stream()`, a proxied fetch) is
 * streamed: the client gets a stream that forwards each chunk as it arrives while a copy is kept,
 * and the copy is handed to the cache when the body ends. Past `limit` bytes the copy is dropped
 * and the rest is forwarded with the client's back-pressure; nothing is cached.
 * @module
 */

/** What {@link capture} found. */
export interface Captured {
  /** The body for the client: the bytes read, a stream, or null for no body. */
  readonly body: Uint8Array | ReadableStream<Uint8Array> | null
  /** Whether the body is still arriving and may yet be stored (the client gets it as a stream meanwhile). */
  readonly streaming: boolean
  /**
   * The complete body for the cache: its bytes (`null`: no body), or why there is none:
   * `'too-large'` (past the limit) or `'failed'` (the body errored, or the client went away
   * before it ended).
   */
  readonly complete: Promise<Uint8Array | null | Incomplete>
}

/** Why a body was not kept. */
export type Incomplete = 'too-large' | 'failed'

const TICK: unique symbol = Symbol('tick')

/**
 * Reads `body` as described in the module doc.
 * @param body the response body
 * @param limit the most bytes kept for the cache
 * @param client whether a client reads the result (false for background refreshes and HEAD,
 *   where the whole body is read here, up to the limit)
 */
export async function capture(body: ReadableStream<Uint8Array> | null, limit: number, client: boolean): Promise<Captured> {
  if (body === null) return { body: null, streaming: false, complete: Promise.resolve(null) }
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  // one macrotask: a body that needs more than that is being produced, not just handed over
  const tick = client ? new Promise<typeof TICK>((resolve) => (timer = setTimeout(() => resolve(TICK), 0))) : undefined
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined
  try {
    for (;;) {
      const read = reader.read()
      const result = tick === undefined ? await read : await Promise.race([read, tick])
      if (result === TICK) {
        pending = read
        break
      }
      if (result.done) {
        const bytes = concat(chunks, size)
        return { body: bytes, streaming: false, complete: Promise.resolve(bytes) }
      }
      const chunk = bytesOf(result.value)
      size += chunk.byteLength
      chunks.push(chunk)
      if (size > limit) {
        if (!client) {
          void reader.cancel().catch(() => undefined)
          return { body: null, streaming: false, complete: Promise.resolve('too-large') }
        }
        // the outcome is known now: the client gets the whole body, the cache nothing
        return { body: forward(reader, chunks, undefined, limit, size, true).stream, streaming: false, complete: Promise.resolve('too-large') }
      }
    }
  } catch (error) {
    reader.releaseLock()
    throw error
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
  const { stream, complete } = forward(reader, chunks, pending, limit, size, false)
  return { body: stream, streaming: true, complete }
}

/**
 * A stream for the client that starts with `chunks` and forwards the rest of `reader`. While
 * under `limit` it reads ahead and keeps a copy (so waiters on the cache are not paced by this
 * client); past it, it forwards with the client's back-pressure.
 */
function forward(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  chunks: Uint8Array[],
  pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined,
  limit: number,
  size: number,
  over: boolean,
): { stream: ReadableStream<Uint8Array>; complete: Promise<Uint8Array | Incomplete> } {
  let settle!: (bytes: Uint8Array | Incomplete) => void
  const complete = new Promise<Uint8Array | Incomplete>((resolve) => (settle = resolve))
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let cancelled = false
  let wake: (() => void) | undefined
  if (over) settle('too-large')
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c
      for (const chunk of chunks) c.enqueue(chunk)
      if (over) chunks = []
    },
    pull() {
      wake?.()
      wake = undefined
    },
    cancel(reason) {
      cancelled = true
      settle('failed')
      wake?.()
      return reader.cancel(reason)
    },
  })
  void (async () => {
    try {
      for (;;) {
        while (over && !cancelled && (controller.desiredSize ?? 0) <= 0) await new Promise<void>((resolve) => (wake = resolve))
        if (cancelled) return
        const result = await (pending ?? reader.read())
        pending = undefined
        if (cancelled) return
        if (result.done) {
          controller.close()
          settle(over ? 'too-large' : concat(chunks, size))
          return
        }
        const chunk = bytesOf(result.value)
        if (!over) {
          size += chunk.byteLength
          if (size > limit) {
            over = true
            chunks = []
            settle('too-large')
          } else chunks.push(chunk)
        }
        controller.enqueue(chunk)
      }
    } catch (error) {
      settle('failed')
      if (!cancelled) {
        try {
          controller.error(error)
        } catch {
          // already closed or errored
        }
      }
    }
  })()
  return { stream, complete }
}

const encoder = new TextEncoder()

/** A chunk as bytes (a stream of strings is tolerated and encoded). */
function bytesOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value
  if (typeof value === 'string') return encoder.encode(value)
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  throw new TypeError('a response body chunk must be a Uint8Array')
}

/** One array of all chunks; a single chunk is kept as is unless it is a view into a larger (pooled) buffer. */
function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const only = chunks[0]
  if (chunks.length === 1 && only!.byteOffset === 0 && only!.byteLength === only!.buffer.byteLength) return only!
  const out = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.byteLength
  }
  return out
}
