/**
 * The decorators and `cached()` exercised through the BUILT package, imported by name. The
 * decorator syntax below is compiled by each runtime's own toolchain: Bun's and Deno's built-in
 * TypeScript transpilers, tsx (esbuild) on Node, and wrangler's esbuild bundle on workerd.
 * `check()` resolves to a summary that must be the same everywhere (runtimes.test.ts).
 */
import {
  cacheable, cacheableBatch, cached, cacheEvict, cachePut, createCache, errors,
  type DecoratorErrorEvent, type TierCache,
} from 'tiercache'
import { lru } from 'tiercache/lru'
import { memoryStore } from 'tiercache/memory'

interface User {
  id: string
  name: string
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The summary every runtime must produce. */
export const EXPECTED = {
  cacheable: { concurrentResults: 5, methodCalls: 2, hit: 'Ada', negativeHit: null },
  cacheableBatch: { result: [['1', 'Ada'], ['2', 'Grace'], ['9', null]], methodCalls: [['1', '2', '9']] },
  cachePut: { readAfterPut: 'Ada L.', methodCallsAfterPut: 2 },
  cacheEvict: { cachedAfterEvict: false, methodCallsAfterEvict: 3 },
  cached: { results: ['F:a', 'F:a', 'F:a', 'F:b'], calls: 2 },
  onCacheError: { result: 'still works', events: ['E_CLOSED'] },
  validation: 'E_INVALID_OPTION ttl',
}

export async function check(): Promise<typeof EXPECTED> {
  const cache = createCache({ namespace: `rt-decorators-${Math.random().toString(36).slice(2, 10)}`, l1: lru(), l2: memoryStore() })
  const rows = new Map([['1', 'Ada'], ['2', 'Grace']])
  let findCalls = 0
  const batchCalls: string[][] = []

  class Users {
    constructor(readonly cache: TierCache) {}

    @cacheable({ cache: (self: Users) => self.cache, key: (id: string) => `user:${id}` })
    async find(id: string): Promise<User | null> {
      findCalls++
      await pause(5)
      const name = rows.get(id)
      return name === undefined ? null : { id, name }
    }

    @cacheableBatch({ cache: (self: Users) => self.cache, keys: (id: string) => `batch:${id}` })
    async findMany(ids: string[]): Promise<Map<string, string | null>> {
      batchCalls.push(ids)
      return new Map(ids.filter((id) => rows.has(id)).map((id) => [id, rows.get(id)!]))
    }

    @cachePut({ cache: (self: Users) => self.cache, key: (user: User) => `user:${user.id}` })
    async save(user: User): Promise<User> {
      rows.set(user.id, user.name)
      return user
    }

    @cacheEvict({ cache: (self: Users) => self.cache, key: (id: string) => `user:${id}` })
    async remove(id: string): Promise<void> {
      rows.delete(id)
    }
  }

  try {
    const users = new Users(cache)
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => users.find('1')))
    const hit = await users.find('1')
    await users.find('404')
    const negativeHit = await users.find('404')
    const callsAfterReads = findCalls

    const batch = await users.findMany(['1', '2', '1', '9'])
    await users.findMany(['9', '2'])

    await users.save({ id: '1', name: 'Ada L.' })
    const readAfterPut = await users.find('1')
    const methodCallsAfterPut = findCalls

    await users.remove('1')
    const cachedAfterEvict = (await cache.get('user:1')) !== undefined
    await users.find('1')

    let fCalls = 0
    const f = cached(async (x: string) => (fCalls++, await pause(5), `F:${x}`), { cache, key: (x) => `f:${x}` })
    const fResults = [...(await Promise.all([f('a'), f('a')])), await f('a'), await f('b')]

    const closed = createCache({ namespace: 'rt-decorators-closed', l1: lru(), l2: memoryStore() })
    await closed.close()
    const events: DecoratorErrorEvent[] = []
    const resilient = cached(async () => 'still works', { cache: closed, key: 'k', onEvent: (e) => events.push(e) })
    const resilientResult = await resilient()

    let validation = 'not thrown'
    try {
      class Bad {
        @cacheable({ cache, key: 'k', ttl: 'soon' })
        async m(): Promise<number> {
          return 1
        }
      }
      void Bad
    } catch (error) {
      if (error instanceof errors.InvalidOptionError) validation = `${error.code} ${error.option}`
    }

    return {
      cacheable: { concurrentResults: new Set(concurrent).size === 1 ? concurrent.length : -1, methodCalls: callsAfterReads, hit: hit?.name ?? 'miss', negativeHit },
      cacheableBatch: { result: [...batch], methodCalls: batchCalls },
      cachePut: { readAfterPut: readAfterPut?.name ?? 'miss', methodCallsAfterPut },
      cacheEvict: { cachedAfterEvict, methodCallsAfterEvict: findCalls },
      cached: { results: fResults, calls: fCalls },
      onCacheError: { result: resilientResult, events: events.map((e) => (e.error as errors.TierCacheError).code) },
      validation,
    } as typeof EXPECTED
  } finally {
    await cache.close()
  }
}
