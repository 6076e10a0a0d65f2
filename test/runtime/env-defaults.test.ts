import { describe, expect, it } from 'vitest'
import { errors, type L2Store } from '../../src/index.js'
import { l2FromEnv, readObject, type EnvTiers } from '../../runtimes/env.js'
// the built entry (by package name): its adapters load with require() from dist/
import { createCache, errors as builtErrors } from 'tiercache/node'

const stub = (name: string): L2Store => ({ kind: 'l2', name, get: async () => null, set: async () => undefined, delete: async () => undefined, clear: async () => 0 })
const both: EnvTiers = { runtime: 'test', prefer: 'tcp', tcp: (url) => stub(`tcp ${url}`), http: (url, token) => stub(`http ${url} ${token}`) }
const httpOnly: EnvTiers = { runtime: 'workers', prefer: 'http', http: (url, token) => stub(`http ${url} ${token}`), noTcpReason: 'per request only' }
const pick = (env: Record<string, string>, tiers = both): string => l2FromEnv(readObject(env), tiers).name

function optionOf(run: () => unknown, InvalidOptionError: typeof errors.InvalidOptionError = errors.InvalidOptionError): string | undefined {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect((error as errors.InvalidOptionError).code).toBe('E_INVALID_OPTION')
    return (error as errors.InvalidOptionError).option
  }
  throw new Error('expected an InvalidOptionError')
}

describe('env-driven default L2 (runtimes/env.ts)', () => {
  it('REDIS_URL → TCP, UPSTASH_REDIS_REST_URL + _TOKEN → HTTP, KV_REST_API_* as a fallback, neither → memoryStore()', () => {
    expect(pick({ REDIS_URL: 'redis://h:1' })).toBe('tcp redis://h:1')
    expect(pick({ UPSTASH_REDIS_REST_URL: 'https://u', UPSTASH_REDIS_REST_TOKEN: 't' })).toBe('http https://u t')
    expect(pick({ KV_REST_API_URL: 'https://kv', KV_REST_API_TOKEN: 'k' })).toBe('http https://kv k')
    expect(pick({})).toBe('memory')
    expect(pick({ REDIS_URL: '', UPSTASH_REDIS_REST_URL: '  ' })).toBe('memory')
  })

  it('with both configured, the runtime’s preference wins (TCP on Node/Deno/Bun, HTTP on Workers)', () => {
    const env = { REDIS_URL: 'rediss://h:1', UPSTASH_REDIS_REST_URL: 'https://u', UPSTASH_REDIS_REST_TOKEN: 't' }
    expect(pick(env)).toBe('tcp rediss://h:1')
    expect(pick(env, httpOnly)).toBe('http https://u t')
  })

  it('bad or incomplete variables throw InvalidOptionError naming the variable, when the cache is created', () => {
    expect(optionOf(() => pick({ REDIS_URL: 'http://not-redis' }))).toBe('env.REDIS_URL')
    expect(optionOf(() => pick({ UPSTASH_REDIS_REST_URL: 'ftp://x', UPSTASH_REDIS_REST_TOKEN: 't' }))).toBe('env.UPSTASH_REDIS_REST_URL')
    expect(optionOf(() => pick({ UPSTASH_REDIS_REST_URL: 'https://u' }))).toBe('env.UPSTASH_REDIS_REST_TOKEN')
    expect(optionOf(() => pick({ UPSTASH_REDIS_REST_TOKEN: 't' }))).toBe('env.UPSTASH_REDIS_REST_URL')
    expect(optionOf(() => pick({ REDIS_URL: 'redis://h:1' }, httpOnly))).toBe('env.REDIS_URL')
  })

  it('never echoes a password from REDIS_URL', () => {
    expect(() => pick({ REDIS_URL: 'http://user:s3cret@host' })).toThrow(/\/\/\*\*\*@host/)
    expect(() => pick({ REDIS_URL: 'http://user:s3cret@host' })).not.toThrow(/s3cret/)
  })

  it('the Node entry loads the adapter the environment names, and gets its real store', async () => {
    const saved = { ...process.env }
    try {
      process.env.REDIS_URL = 'redis://127.0.0.1:1'
      const tcp = createCache({ namespace: 'env-node', l1: false })
      expect(Object.values(tcp.stats().tiers).map((t) => t.name)).toEqual(['redis'])
      await tcp.close()
      process.env.REDIS_URL = ''
      process.env.UPSTASH_REDIS_REST_URL = 'http://127.0.0.1:1'
      process.env.UPSTASH_REDIS_REST_TOKEN = 't'
      const http = createCache({ namespace: 'env-node', l1: false })
      expect(Object.values(http.stats().tiers).map((t) => t.name)).toEqual(['upstash'])
      await http.close()
    } finally {
      for (const name of ['REDIS_URL', 'UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN']) {
        if (saved[name] === undefined) delete process.env[name]
        else process.env[name] = saved[name]
      }
    }
  })
})

describe('tiercache/node createCache', () => {
  it('reads process.env when the cache is created, and an explicit l2 skips the environment', async () => {
    const saved = process.env.REDIS_URL
    process.env.REDIS_URL = 'not a url'
    try {
      expect(optionOf(() => createCache({ namespace: 'env-node' }), builtErrors.InvalidOptionError)).toBe('env.REDIS_URL')
      const local = createCache({ namespace: 'env-node', l2: false })
      expect(Object.values(local.stats().tiers).map((t) => t.name)).toEqual(['lru'])
      await local.close()
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL
      else process.env.REDIS_URL = saved
    }
  })
})
