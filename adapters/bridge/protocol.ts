/**
 * The Upstash REST protocol, as pure functions: request bodies in, JSON results out.
 * Shared by the bridge and its tests; no I/O here.
 * @module
 */

/** A problem with a request, answered with `status` and `{ error }`. */
export class BridgeRequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
    this.name = 'BridgeRequestError'
  }
}

/** Redis receives strings: every argument is stringified (JSON for non-strings, as the client sends them). */
function toArgument(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** One command from a JSON value: a non-empty array whose first item is a string. */
export function parseCommand(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BridgeRequestError(400, `ERR ${where} must be a non-empty JSON array like ["get","key"]`)
  }
  if (typeof value[0] !== 'string' || value[0].length === 0) {
    throw new BridgeRequestError(400, `ERR ${where}: the command name must be a non-empty string`)
  }
  return value.map(toArgument)
}

/** Parses a request body: one command for `/`, a list of commands for `/pipeline` and `/multi-exec`. */
export function parseBody(text: string, kind: 'single' | 'list'): string[][] {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new BridgeRequestError(400, 'ERR the request body is not valid JSON')
  }
  if (kind === 'single') return [parseCommand(body, 'the request body')]
  if (!Array.isArray(body) || body.length === 0) {
    throw new BridgeRequestError(400, 'ERR the request body must be a non-empty JSON array of commands like [["set","k","v"],["get","k"]]')
  }
  return body.map((command, i) => parseCommand(command, `command ${i}`))
}

function toBase64(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000) as unknown as number[])
  }
  return btoa(binary)
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * Turns a Redis reply into the JSON the client expects. With `base64`, every string is the
 * base64 of its bytes except the status reply `OK` (as Upstash answers); numbers and null
 * stay; arrays recurse. Bulk strings arrive as bytes, so binary values pass unchanged.
 */
export function encodeReply(reply: unknown, base64: boolean): unknown {
  if (reply === null || reply === undefined) return null
  if (typeof reply === 'number') return reply
  if (typeof reply === 'bigint') return Number(reply)
  if (typeof reply === 'boolean') return reply ? 1 : 0
  if (reply instanceof Uint8Array) return base64 ? toBase64(reply) : decoder.decode(reply)
  if (typeof reply === 'string') return base64 && reply !== 'OK' ? toBase64(encoder.encode(reply)) : reply
  if (Array.isArray(reply)) return reply.map((item) => encodeReply(item, base64))
  if (reply instanceof Error) return base64 ? toBase64(encoder.encode(reply.message)) : reply.message
  return base64 ? toBase64(encoder.encode(JSON.stringify(reply))) : JSON.stringify(reply)
}

/** The message of a Redis error reply or a thrown error. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
