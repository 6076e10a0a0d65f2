/**
 * OpenTelemetry for caches, loading `@opentelemetry/api` (an optional peer dependency) on
 * demand. Without the package nothing is instrumented and nothing runs per request.
 * @module
 */
import { instrumentOtel, type OtelApi, type OtelOptions, type OtelTarget } from '../src/telemetry.js'

export { instrumentOtel, type OtelApi, type OtelOptions, type OtelTarget }

/** Options of {@link otel}: those of `instrumentOtel`, with `api` optional. */
export type OtelLoadOptions = Omit<OtelOptions, 'api'> & { api?: OtelApi }

/**
 * Reports caches to OpenTelemetry (spans, a latency histogram and the counters of `stats()`;
 * see `instrumentOtel`) through `@opentelemetry/api`, imported here when not given. When the
 * package is not installed, resolves to `undefined` and leaves the caches untouched.
 * @returns a function that stops reporting, or `undefined` without `@opentelemetry/api`
 * @example
 * ```ts
 * import { otel } from 'tiercache/otel'
 * await otel([users, products])
 * ```
 */
export async function otel(caches: OtelTarget | readonly OtelTarget[], options: OtelLoadOptions = {}): Promise<(() => void) | undefined> {
  const api = options.api ?? (await loadApi())
  if (api === undefined) return undefined
  const stops = (Array.isArray(caches) ? caches : [caches]).map((cache: OtelTarget) => instrumentOtel(cache, { ...options, api }))
  return () => {
    for (const stop of stops) stop()
  }
}

async function loadApi(): Promise<OtelApi | undefined> {
  const specifier = '@opentelemetry/api'
  try {
    // a variable specifier: bundlers leave the optional package alone
    return (await import(/* @vite-ignore */ specifier)) as OtelApi
  } catch {
    return undefined
  }
}
