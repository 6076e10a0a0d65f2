import { describe, expect, it } from 'vitest'
import { createCache, errors, Strategy } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { memoryStore } from '../../adapters/memory.js'
import { redis } from '../../adapters/redis.js'
import { uniqueName } from '../support/helpers.js'

describe('invalid keys', () => {
  const cache = createCache({ namespace: 'keys', maxKeyLength: 16 })
  const bad: unknown[] = ['', 'x'.repeat(17), 42, null, undefined, {}, Symbol('k')]
  const calls: [string, (key: unknown) => Promise<unknown>][] = [
    ['get', (k) => cache.get(k as string)],
    ['getOrLoad', (k) => cache.getOrLoad(k as string, () => 1)],
    ['set', (k) => cache.set(k as string, 1)],
    ['delete', (k) => cache.delete(k as string)],
    ['mget', (k) => cache.mget([k as string])],
    ['mgetOrLoad', (k) => cache.mgetOrLoad([k as string], () => ({}))],
    ['mset', (k) => cache.mset([[k as string, 1]])],
    ['mdelete', (k) => cache.mdelete([k as string])],
    ['warmup', (k) => cache.warmup([k as string], () => ({}))],
  ]
  it.each(calls)('%s rejects each bad key with E_INVALID_KEY', async (name, call) => {
    for (const key of bad) {
      const err = await call(key).then(() => 'resolved', (e: unknown) => e)
      expect(err).toBeInstanceOf(errors.InvalidKeyError)
      expect(err).toMatchObject({ code: 'E_INVALID_KEY', namespace: 'keys' })
      expect((err as Error).message).toContain(name)
    }
  })

  it('accepts keys up to maxKeyLength, any characters', async () => {
    for (const key of ['x'.repeat(16), 'a:b:c', '__proto__', 'ü 日本', '*?[]']) {
      await cache.set(key, key)
      expect(await cache.get(key)).toBe(key)
    }
  })

  it('batch calls reject a non-iterable keys argument', async () => {
    await expect(cache.mget('abc' as unknown as string[])).rejects.toMatchObject({ code: 'E_INVALID_KEY' })
    await expect(cache.mset(5 as unknown as [])).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
    await expect(cache.mset([['only-key']] as unknown as [])).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
  })
})

describe('bad options fail at createCache', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['no namespace', {}, 'namespace'],
    ['namespace with a colon', { namespace: 'a:b' }, 'namespace'],
    ['namespace with glob characters', { namespace: 'a*' }, 'namespace'],
    ['bad prefix', { namespace: 'n', prefix: '' }, 'prefix'],
    ['ttl string', { namespace: 'n', ttl: 'soon' }, 'ttl'],
    ['ttl zero', { namespace: 'n', ttl: 0 }, 'ttl'],
    ['negative nullTtl', { namespace: 'n', nullTtl: -5 }, 'nullTtl'],
    ['jitter above 1', { namespace: 'n', jitter: 2 }, 'jitter'],
    ['maxKeyLength 0', { namespace: 'n', maxKeyLength: 0 }, 'maxKeyLength'],
    ['loader not a function', { namespace: 'n', loader: 'x' }, 'loader'],
    ['onEvent not a function', { namespace: 'n', onEvent: 1 }, 'onEvent'],
    ['serializer without methods', { namespace: 'n', serializer: {} }, 'serializer'],
    ['clock without now', { namespace: 'n', clock: {} }, 'clock'],
    ['misspelt option', { namespace: 'n', tll: 5 }, 'tll'],
    ['l1 that is not a store', { namespace: 'n', l1: {} }, 'l1'],
    ['an L2 store as l1', { namespace: 'n', l1: memoryStore() }, 'l1'],
    ['an L1 store as l2', { namespace: 'n', l2: lru() }, 'l2'],
    ['tiers and l1 together', { namespace: 'n', tiers: [{ store: lru() }], l1: lru() }, 'tiers'],
    ['empty tiers', { namespace: 'n', tiers: [] }, 'tiers'],
    ['L1 after L2 in tiers', { namespace: 'n', tiers: [{ store: memoryStore() }, { store: lru() }] }, 'tiers[1]'],
    ['bad ttlScale', { namespace: 'n', tiers: [{ store: lru(), ttlScale: 0 }] }, 'tiers[0].ttlScale'],
    ['no tier at all', { namespace: 'n', l1: false, l2: false }, 'tiers'],
  ]
  it.each(cases)('%s', (_name, options, option) => {
    const run = () => createCache(options as never)
    expect(run).toThrow(errors.InvalidOptionError)
    expect(run).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option }))
  })

  it('refuses to share one lru() between two caches', () => {
    const l1 = lru()
    createCache({ namespace: 'one', l1 })
    expect(() => createCache({ namespace: 'two', l1 })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'l1' }))
  })

  it('redis() needs exactly one of url or client, and a redis:// url', () => {
    expect(() => redis({})).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION' }))
    expect(() => redis({ url: 'http://x' })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'redis.url' }))
    let message = ''
    try {
      redis({ url: 'http://user:secret@x' })
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toContain('redis.url must start with redis://')
    expect(message).not.toContain('secret')
  })

  it('per-call options are checked too', async () => {
    const cache = createCache({ namespace: uniqueName() })
    await expect(cache.set('k', 1, { ttl: 'later' })).rejects.toMatchObject({ code: 'E_INVALID_OPTION', option: 'ttl' })
    await expect(cache.set('k', 1, { tags: 'a' as unknown as string[] })).rejects.toMatchObject({ code: 'E_INVALID_OPTION', option: 'tags' })
    await expect(cache.getOrLoad('k', 'nope' as never)).rejects.toMatchObject({ code: 'E_INVALID_OPTION', option: 'loader' })
    await expect(cache.mgetOrLoad(['k'], 'nope' as never)).rejects.toMatchObject({ code: 'E_INVALID_OPTION', option: 'batchLoader' })
    await expect(cache.warmup(['k'], () => ({}), { chunkSize: 0 })).rejects.toMatchObject({ code: 'E_INVALID_OPTION', option: 'chunkSize' })
  })

  it('errors carry name, code and a message that names the package', () => {
    const err = new errors.InvalidKeyError('x', { namespace: 'n', key: 'k' })
    expect(err).toBeInstanceOf(errors.TierCacheError)
    expect(err).toBeInstanceOf(Error)
    expect(err.name).toBe('InvalidKeyError')
    expect(err.message).toBe('[tiercache] x')
  })

  it('accepts every TTL form', () => {
    for (const ttl of [1, '250ms', '30s', '5m', '1h', '1d', Strategy.RealTime, Strategy.LongTerm, Strategy.Custom('2m')]) {
      expect(() => createCache({ namespace: 'ok', ttl })).not.toThrow()
    }
  })
})
