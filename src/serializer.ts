import { TierCacheError, UnserializableError } from './errors.js'

/**
 * Turns values into strings for L2 and back. L1 never serializes: it holds live values.
 *
 * `serialize` must throw for a value it cannot encode (tiercache wraps the error as
 * `E_UNSERIALIZABLE` and writes nothing); `deserialize` may throw on foreign or corrupt
 * input (tiercache counts it as a corrupt entry and treats it as a miss).
 *
 * @example
 * ```ts
 * const plainJson: Serializer = { name: 'json', serialize: JSON.stringify, deserialize: JSON.parse }
 * createCache({ namespace: 'n', l2, serializer: plainJson })
 * ```
 */
export interface Serializer {
  /** Shown in diagnostics and error messages. */
  readonly name?: string
  serialize(value: unknown): string
  deserialize(text: string): unknown
}

// Tagged values are objects whose first key is `$t`. A user object that itself has a `$t`
// key is escaped as { $t: 'o', v: entries } so nothing a user stores can pass for a tag.
const TAG = '$t'

const VIEW_TYPES: Record<string, (buffer: ArrayBuffer) => ArrayBufferView> = {
  Uint8Array: (b) => new Uint8Array(b),
  Int8Array: (b) => new Int8Array(b),
  Uint8ClampedArray: (b) => new Uint8ClampedArray(b),
  Int16Array: (b) => new Int16Array(b),
  Uint16Array: (b) => new Uint16Array(b),
  Int32Array: (b) => new Int32Array(b),
  Uint32Array: (b) => new Uint32Array(b),
  Float32Array: (b) => new Float32Array(b),
  Float64Array: (b) => new Float64Array(b),
  BigInt64Array: (b) => new BigInt64Array(b),
  BigUint64Array: (b) => new BigUint64Array(b),
  DataView: (b) => new DataView(b),
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = ''
  const chunk = 0x8000
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk) as unknown as number[])
  }
  return btoa(binary)
}

function base64ToBuffer(text: string): ArrayBuffer {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes.buffer
}

function viewName(view: ArrayBufferView): string {
  const name = view.constructor.name
  return name in VIEW_TYPES ? name : 'Uint8Array' // Buffer and other Uint8Array subclasses
}

/** Finds where in `root` the first value matching `bad` sits, for error messages. */
function findPath(root: unknown, bad: (v: unknown, seen: Set<unknown>) => boolean): string {
  const seen = new Set<unknown>()
  const walk = (value: unknown, path: string): string | undefined => {
    if (bad(value, seen)) return path
    if (value === null || typeof value !== 'object') return undefined
    seen.add(value)
    const children: Iterable<[unknown, unknown]> =
      value instanceof Map ? value.entries()
      : value instanceof Set ? [...value].map((v, i) => [i, v] as [unknown, unknown])
      : Object.entries(value)
    for (const [k, v] of children) {
      const found = walk(v, `${path}${typeof k === 'number' || /^\d+$/.test(String(k)) ? `[${String(k)}]` : `.${String(k)}`}`)
      if (found !== undefined) return found
    }
    seen.delete(value)
    return undefined
  }
  return walk(root, 'value') ?? 'value'
}

/**
 * The default serializer: JSON, plus `Date`, `Map`, `Set`, `BigInt`, `undefined` inside
 * objects and arrays, `NaN`/`±Infinity`, `ArrayBuffer` and typed arrays (`Uint8Array`,
 * `Float64Array`, …; a Node `Buffer` comes back as a `Uint8Array`). Other objects follow
 * `JSON.stringify` (their `toJSON` is used; class instances come back as plain objects).
 * Functions, symbols and cycles throw `E_UNSERIALIZABLE` naming where they sit.
 *
 * Output starts with `j` (plain JSON: parsed without a reviver) or `t` (tagged values).
 *
 * @example
 * ```ts
 * const text = defaultSerializer.serialize({ at: new Date(0), ids: new Set([1n]) })
 * defaultSerializer.deserialize(text) // { at: Date(0), ids: Set { 1n } }
 * ```
 */
export const defaultSerializer: Serializer = {
  name: 'tagged-json',
  serialize(value: unknown): string {
    if (isPlainJson(value, 0)) return `j${JSON.stringify(value)}`
    let tagged = false
    const replacer = function (this: Record<string, unknown>, key: string, converted: unknown): unknown {
      const raw = this[key]
      switch (typeof raw) {
        case 'string':
        case 'boolean':
          return converted
        case 'number':
          if (Number.isFinite(raw)) return converted
          tagged = true
          return { [TAG]: 'N', v: String(raw) }
        case 'bigint':
          tagged = true
          return { [TAG]: 'B', v: raw.toString() }
        case 'undefined':
          tagged = true
          return { [TAG]: 'u' }
        case 'function':
        case 'symbol': {
          const path = findPath(value, (v) => v === raw)
          throw new UnserializableError(`cannot serialize a ${typeof raw} at ${path}; store data, not behaviour`, path)
        }
      }
      if (raw === null) return null
      if (raw instanceof Date) {
        tagged = true
        return { [TAG]: 'D', v: String(raw.getTime()) }
      }
      if (raw instanceof Map) {
        tagged = true
        return { [TAG]: 'M', v: [...raw.entries()] }
      }
      if (raw instanceof Set) {
        tagged = true
        return { [TAG]: 'S', v: [...raw.values()] }
      }
      if (ArrayBuffer.isView(raw)) {
        tagged = true
        const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)
        return { [TAG]: 'U', k: viewName(raw), v: bytesToBase64(bytes) }
      }
      if (raw instanceof ArrayBuffer) {
        tagged = true
        return { [TAG]: 'A', v: bytesToBase64(new Uint8Array(raw)) }
      }
      if (converted !== null && typeof converted === 'object' && !Array.isArray(converted) && Object.hasOwn(converted, TAG)) {
        tagged = true
        return { [TAG]: 'o', v: Object.entries(converted) }
      }
      return converted
    }
    let json: string
    try {
      json = JSON.stringify(value, replacer)
    } catch (err) {
      if (err instanceof TierCacheError) throw err
      const path = findPath(value, (v, seen) => seen.has(v))
      throw new UnserializableError(`cannot serialize the value at ${path}: ${(err as Error).message}`, path, { cause: err })
    }
    return (tagged ? 't' : 'j') + json
  },
  deserialize(text: string): unknown {
    return taggedJsonAt(text, 0)
  },
}

/**
 * `defaultSerializer.deserialize(text.slice(start))` without cutting the payload out of the
 * stored string first (the engine's read path).
 */
export function taggedJsonAt(text: string, start: number): unknown {
  const mode = text.charCodeAt(start)
  if (mode === 106 /* j */) return JSON.parse(text.slice(start + 1))
  if (mode === 116 /* t */) return JSON.parse(text.slice(start + 1), reviver)
  throw new SyntaxError('not a tagged-json payload')
}

/**
 * True when plain `JSON.stringify` encodes `value` exactly (no tags needed, no toJSON, no
 * cycles): the common case skips the replacer, which costs about 3× a plain stringify.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value)
    case 'object': {
      if (value === null) return true
      if (depth > 32) return false // deep or cyclic: the careful path decides
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth + 1)) return false
        return true
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) return false
      const record = value as Record<string, unknown>
      if (Object.hasOwn(record, TAG) || typeof record.toJSON === 'function') return false
      for (const key in record) if (!isPlainJson(record[key], depth + 1)) return false
      return true
    }
    default:
      return false
  }
}

function reviver(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const tag = (value as Record<string, unknown>)[TAG]
  if (typeof tag !== 'string') return value
  const v = (value as { v?: unknown }).v
  switch (tag) {
    case 'u':
      return undefined
    case 'N':
      return Number(v)
    case 'B':
      return BigInt(v as string)
    case 'D':
      return new Date(Number(v))
    case 'M':
      return new Map(v as [unknown, unknown][])
    case 'S':
      return new Set(v as unknown[])
    case 'A':
      return base64ToBuffer(v as string)
    case 'U': {
      const make = VIEW_TYPES[(value as { k?: string }).k ?? '']
      if (make === undefined) throw new SyntaxError('unknown binary view')
      return make(base64ToBuffer(v as string))
    }
    case 'o':
      return Object.fromEntries(v as [string, unknown][])
    default:
      throw new SyntaxError(`unknown tag ${tag}`)
  }
}
