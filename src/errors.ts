/**
 * Error classes thrown by tiercache. Every error carries a stable `code`, a `name`, and
 * where it helps, the `namespace`, `key` or `option` it is about, so callers can branch on
 * `err.code` instead of parsing messages.
 *
 * @example
 * ```ts
 * import { errors } from 'tiercache'
 * try { await cache.set('', 1) } catch (err) {
 *   if (err instanceof errors.TierCacheError && err.code === 'E_INVALID_KEY') { ... }
 * }
 * ```
 * @module
 */

/** Every stable error code tiercache throws. */
export type ErrorCode =
  | 'E_INVALID_KEY'
  | 'E_INVALID_VALUE'
  | 'E_UNSERIALIZABLE'
  | 'E_INVALID_OPTION'
  | 'E_LOADER_RESULT'
  | 'E_CLOSED'
  | 'E_L2'
  | 'E_L2_TIMEOUT'
  | 'E_LOADER_TIMEOUT'
  | 'E_UNSUPPORTED'

/** Context fields an error may carry. */
export interface ErrorContext {
  namespace?: string
  key?: string
  option?: string
  cause?: unknown
}

/** Base class of every tiercache error. */
export class TierCacheError extends Error {
  /** Stable machine-readable code, e.g. `E_INVALID_KEY`. */
  readonly code: ErrorCode
  readonly namespace: string | undefined
  readonly key: string | undefined
  readonly option: string | undefined

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    super(`[tiercache] ${message}`, context.cause === undefined ? undefined : { cause: context.cause })
    this.name = 'TierCacheError'
    this.code = code
    this.namespace = context.namespace
    this.key = context.key
    this.option = context.option
  }
}

/** A key that is not a non-empty string within the allowed length (`E_INVALID_KEY`). */
export class InvalidKeyError extends TierCacheError {
  constructor(message: string, context: ErrorContext = {}) {
    super('E_INVALID_KEY', message, context)
    this.name = 'InvalidKeyError'
  }
}

/** `undefined` given as a value (`E_INVALID_VALUE`). Use `null` to cache absence. */
export class InvalidValueError extends TierCacheError {
  constructor(message: string, context: ErrorContext = {}) {
    super('E_INVALID_VALUE', message, context)
    this.name = 'InvalidValueError'
  }
}

/** A value the serializer cannot encode: a function, a symbol, a cycle (`E_UNSERIALIZABLE`). */
export class UnserializableError extends TierCacheError {
  /** Where in the value the problem sits, e.g. `value.user.onClick`. */
  readonly path: string
  constructor(message: string, path: string, context: ErrorContext = {}) {
    super('E_UNSERIALIZABLE', message, context)
    this.name = 'UnserializableError'
    this.path = path
  }
}

/** A bad option given to a factory or a call (`E_INVALID_OPTION`). */
export class InvalidOptionError extends TierCacheError {
  constructor(message: string, context: ErrorContext = {}) {
    super('E_INVALID_OPTION', message, context)
    this.name = 'InvalidOptionError'
  }
}

/** A loader returned something that cannot be cached, such as `undefined` (`E_LOADER_RESULT`). */
export class LoaderResultError extends TierCacheError {
  constructor(message: string, context: ErrorContext = {}) {
    super('E_LOADER_RESULT', message, context)
    this.name = 'LoaderResultError'
  }
}

/** The cache was used after `close()` (`E_CLOSED`). */
export class ClosedError extends TierCacheError {
  constructor(message: string, context: ErrorContext = {}) {
    super('E_CLOSED', message, context)
    this.name = 'ClosedError'
  }
}

/** An L2 store operation failed (`E_L2`); reported through `onEvent`, never thrown by reads. */
export class L2Error extends TierCacheError {
  /** The store that failed, e.g. `redis`. */
  readonly store: string
  /** The operation that failed, e.g. `mget`. */
  readonly operation: string
  constructor(store: string, operation: string, context: ErrorContext = {}) {
    const reason = context.cause instanceof Error ? `: ${context.cause.message.replace(/^\[tiercache\] /, '')}` : ''
    super('E_L2', `[${store}] ${operation} failed${reason}`, context)
    this.name = 'L2Error'
    this.store = store
    this.operation = operation
  }
}

/** An L2 operation took longer than `l2Timeout` (`E_L2_TIMEOUT`); the cause of an `L2Error`. */
export class L2TimeoutError extends TierCacheError {
  constructor(operation: string, ms: number, context: ErrorContext = {}) {
    super('E_L2_TIMEOUT', `${operation} timed out after ${ms} ms`, context)
    this.name = 'L2TimeoutError'
  }
}

/** A loader took longer than `loaderTimeout.hard` (`E_LOADER_TIMEOUT`); it goes on in the background. */
export class LoaderTimeoutError extends TierCacheError {
  /** The hard timeout in ms. */
  readonly timeout: number
  constructor(ms: number, context: ErrorContext = {}) {
    super('E_LOADER_TIMEOUT', `loader for key ${JSON.stringify(context.key ?? '')} took longer than ${ms} ms (loaderTimeout.hard); it goes on in the background and its result is cached if it succeeds`, context)
    this.name = 'LoaderTimeoutError'
    this.timeout = ms
  }
}

/** A feature the configured stores cannot provide, e.g. tags on a store without sets (`E_UNSUPPORTED`). */
export class UnsupportedError extends TierCacheError {
  constructor(message: string, context: ErrorContext = {}) {
    super('E_UNSUPPORTED', message, context)
    this.name = 'UnsupportedError'
  }
}
