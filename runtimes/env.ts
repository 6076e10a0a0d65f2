/**
 * The one place that turns a runtime's environment into default tiers. Each runtime entry
 * passes its way of reading variables and the store factories it can offer; the choice and
 * the validation live here, once.
 * @module
 */
import type { L2Store } from '../src/contracts.js'
import { InvalidOptionError } from '../src/errors.js'
import { memoryStore } from '../adapters/memory.js'

/** The runtime entries: what `runtime` of `import { runtime } from 'tiercache'` can be. */
export type RuntimeEntry = 'node' | 'deno' | 'bun' | 'workers' | 'default'

/** Reads one environment variable; `undefined` or `''` means unset. */
export type EnvReader = (name: string) => string | undefined

/** What a runtime entry can offer as the default L2. */
export interface EnvTiers {
  /** The runtime's name, for messages: `node`, `deno`, `bun`, `workers`. */
  runtime: string
  /** L2 over TCP for a `redis://` URL; absent where TCP cannot be a default (Workers). */
  tcp?: (url: string) => L2Store
  /** L2 over HTTP (the Upstash REST protocol) for a URL and token. */
  http: (url: string, token: string) => L2Store
  /** Which wins when both REDIS_URL and UPSTASH_REDIS_REST_URL are set. */
  prefer: 'tcp' | 'http'
  /** Why TCP is not offered, said when REDIS_URL is the only thing set. */
  noTcpReason?: string
}


/** A reader over a plain object (`process.env`, a Worker's `env`); non-strings count as unset. */
export function readObject(env: Record<string, unknown> | undefined | null): EnvReader {
  return (name) => {
    const value = env?.[name]
    return typeof value === 'string' ? value : undefined
  }
}

function mask(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}

/**
 * Picks the default L2 from the environment:
 * `REDIS_URL` → L2 over TCP; `UPSTASH_REDIS_REST_URL` + `UPSTASH_REDIS_REST_TOKEN` (or
 * `KV_REST_API_URL` + `KV_REST_API_TOKEN`) → L2 over HTTP; neither → an in-process
 * `memoryStore()`. A malformed value throws `InvalidOptionError` (`E_INVALID_OPTION`) here,
 * when the cache is created, naming the variable.
 *
 * @example
 * ```ts
 * const l2 = l2FromEnv(readObject(process.env), { runtime: 'node', tcp: (url) => redis({ url }), http: (url, token) => upstash({ url, token }), prefer: 'tcp' })
 * ```
 */
export function l2FromEnv(read: EnvReader, tiers: EnvTiers): L2Store {
  const get = (name: string): string | undefined => {
    const value = read(name)?.trim()
    return value === undefined || value === '' ? undefined : value
  }
  const redisUrl = get('REDIS_URL')
  const restVar = get('UPSTASH_REDIS_REST_URL') !== undefined ? 'UPSTASH_REDIS_REST_URL' : get('KV_REST_API_URL') !== undefined ? 'KV_REST_API_URL' : undefined
  const tokenVar = restVar === 'KV_REST_API_URL' ? 'KV_REST_API_TOKEN' : 'UPSTASH_REDIS_REST_TOKEN'

  if (redisUrl !== undefined && !/^rediss?:\/\/\S+$/.test(redisUrl)) {
    throw new InvalidOptionError(`REDIS_URL must be a redis:// or rediss:// URL; got ${JSON.stringify(mask(redisUrl))} (tiercache/${tiers.runtime})`, { option: 'env.REDIS_URL' })
  }
  const http = (): L2Store => {
    const url = get(restVar!)!
    const token = get(tokenVar)
    if (!/^https?:\/\/\S+$/.test(url)) {
      throw new InvalidOptionError(`${restVar} must be an http(s) URL; got ${JSON.stringify(url)} (tiercache/${tiers.runtime})`, { option: `env.${restVar}` })
    }
    if (token === undefined) {
      throw new InvalidOptionError(`${restVar} is set but ${tokenVar} is not: Redis over HTTP needs both (tiercache/${tiers.runtime})`, { option: `env.${tokenVar}` })
    }
    return tiers.http(url, token)
  }
  const tcp = (): L2Store => {
    if (tiers.tcp === undefined) {
      throw new InvalidOptionError(
        `REDIS_URL is set, but tiercache/${tiers.runtime} cannot use Redis over TCP as a default${tiers.noTcpReason ? `: ${tiers.noTcpReason}` : ''}. Set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN for Redis over HTTP, or pass l2 yourself.`,
        { option: 'env.REDIS_URL' },
      )
    }
    return tiers.tcp(redisUrl!)
  }

  if (redisUrl !== undefined && restVar !== undefined) return tiers.prefer === 'tcp' && tiers.tcp !== undefined ? tcp() : http()
  if (redisUrl !== undefined) return tcp()
  if (restVar !== undefined) return http()
  if (get('UPSTASH_REDIS_REST_TOKEN') !== undefined || get('KV_REST_API_TOKEN') !== undefined) {
    throw new InvalidOptionError(`a REST token is set but no UPSTASH_REDIS_REST_URL: Redis over HTTP needs both (tiercache/${tiers.runtime})`, { option: 'env.UPSTASH_REDIS_REST_URL' })
  }
  return memoryStore()
}
