/**
 * Type-level checks of the decorators, run by `tsc -p tsconfig.json --noEmit` (the type-check step
 * of `npm test`): every `@ts-expect-error` below must be an error, or the check fails. Nothing
 * here runs; the runtime behaviour is in test/integration/decorators.test.ts.
 */
import {
  cacheable, cacheableBatch, cached, cacheEvict, cacheEvictBatch, cachePut, createCache, type TierCache,
} from '../../runtimes/default.js'

interface User {
  id: string
  name: string
}
const shared = createCache({ namespace: 'types', l2: false })

export class UserService {
  constructor(readonly cache: TierCache) {}

  // a key function may read fewer arguments than the method takes
  @cacheable({ cache: (self: UserService) => self.cache, key: (id: string) => `u:${id}` })
  async find(id: string, _options?: { deep: boolean }): Promise<User | null> {
    return { id, name: '' }
  }

  @cacheable({ cache: shared, key: 'all' })
  async all(): Promise<User[]> {
    return []
  }

  @cacheableBatch({ cache: (self: UserService) => self.cache, keys: (id: number) => `u:${id}` })
  async many(_ids: number[]): Promise<Map<number, User | null>> {
    return new Map()
  }

  @cacheableBatch({ cache: shared })
  async manyByString(_ids: readonly string[], _flag: boolean): Promise<Map<string, User | null>> {
    return new Map()
  }

  @cachePut({ cache: shared, key: (u: User) => `u:${u.id}` })
  async save(u: User): Promise<User> {
    return u
  }

  @cachePut({ cache: shared, key: (u: User) => `u:${u.id}`, value: (_result: void, u: User) => u })
  async store(_u: User): Promise<void> {}

  @cacheEvict({ cache: shared, key: (id: string) => `u:${id}`, before: true })
  async remove(id: string): Promise<boolean> {
    return id !== ''
  }

  @cacheEvictBatch({ cache: shared, keys: (id: string) => `u:${id}` })
  async removeMany(_ids: Set<string>): Promise<void> {}

  // @ts-expect-error the key function's parameter does not accept the method's argument
  @cacheable({ cache: shared, key: (id: number) => `u:${id}` })
  async wrongKey(id: string): Promise<string> {
    return id
  }

  // @ts-expect-error a synchronous method cannot become asynchronous
  @cacheable({ cache: shared, key: 'k' })
  notAsync(): string {
    return ''
  }

  // @ts-expect-error the cache function is for another class
  @cacheable({ cache: (self: Other) => self.otherCache, key: 'k' })
  async otherThis(): Promise<string> {
    return ''
  }

  // @ts-expect-error a batch method must declare null among its values (items it leaves out resolve to null)
  @cacheableBatch({ cache: shared })
  async batchWithoutNull(_ids: string[]): Promise<Map<string, User>> {
    return new Map()
  }

  // @ts-expect-error a batch method must return a Map
  @cacheableBatch({ cache: shared })
  async batchArray(_ids: string[]): Promise<(User | null)[]> {
    return []
  }

  // @ts-expect-error value() reads a result of another type
  @cachePut({ cache: shared, key: 'k', value: (r: number) => r })
  async putWrongValue(): Promise<string> {
    return ''
  }
}

class Other {
  otherCache = shared
}

// decorated methods keep their signatures
const service = new UserService(shared)
export const found: Promise<User | null> = service.find('1')
export const many: Promise<Map<number, User | null>> = service.many([1, 2])
// @ts-expect-error still takes a string
void service.find(1)

// cached(): the key function's parameters are typed from the wrapped function
const lookup = cached(async (id: string, n: number) => ({ id, n }), { cache: shared, key: (id) => `f:${id.toUpperCase()}` })
export const looked: Promise<{ id: string; n: number }> = lookup('a', 1)
// @ts-expect-error wrong argument type
void lookup(1, 1)
// @ts-expect-error the key function does not accept the function's argument
cached(async (id: string) => id, { cache: shared, key: (id: number) => `${id}` })
// a synchronous function becomes asynchronous
export const squared: Promise<number> = cached((n: number) => n * n, { cache: shared, key: (n) => String(n) })(3)
