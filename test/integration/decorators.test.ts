import { describe, expect, it } from 'vitest'
import {
  cacheable, cacheableBatch, cached, cacheEvict, cacheEvictBatch, cachePut, createCache, errors,
  type DecoratorErrorEvent, type TierCache,
} from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { redis } from '../../adapters/redis.js'
import { backends } from '../support/backends.js'
import { freePort } from '../support/redis-server.js'
import { counting, fakeClock, sleep, trackCaches, uniqueName } from '../support/helpers.js'

const track = trackCaches()

interface User {
  id: string
  name: string
}

/** A tiny "database" that counts every call and can be told to fail. */
function fakeDb() {
  const rows = new Map<string, User>([['1', { id: '1', name: 'Ada' }], ['2', { id: '2', name: 'Grace' }], ['3', { id: '3', name: 'Linus' }]])
  return {
    rows,
    calls: [] as string[][],
    failing: false,
    held: undefined as { started: () => void; released: Promise<void> } | undefined,
    /** The next find() reads its row, then waits for release(): `started` resolves once it has read. */
    hold(): { started: Promise<void>; release: () => void } {
      let release!: () => void
      let started!: () => void
      const startedP = new Promise<void>((resolve) => (started = resolve))
      this.held = { started, released: new Promise<void>((resolve) => (release = resolve)) }
      return { started: startedP, release }
    },
    // reads the rows when called, answers 10 ms later (a write meanwhile is not seen)
    /** Answers 10 ms later, or when a held query is released; fails while `failing`. */
    async answer<T>(result: T): Promise<T> {
      const held = this.held
      this.held = undefined
      if (held !== undefined) {
        held.started()
        await held.released
      } else await sleep(10)
      if (this.failing) throw new Error('db down')
      return result
    },
    find(id: string): Promise<User | null> {
      this.calls.push([id])
      return this.answer(this.rows.get(id) ?? null)
    },
    findMany(ids: string[]): Promise<Map<string, User | null>> {
      this.calls.push([...ids])
      return this.answer(new Map(ids.filter((id) => this.rows.has(id)).map((id) => [id, this.rows.get(id)!])))
    },
  }
}

/** A cache whose calls (and their options) are recorded; the real cache does the work. */
function recording(cache: TierCache): { cache: TierCache; calls: [string, unknown[]][] } {
  const calls: [string, unknown[]][] = []
  const proxy = new Proxy(cache, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.push([String(prop), args])
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return { cache: proxy, calls }
}

describe.each(backends)('@cacheable over $name', ({ shared }) => {
  function service(cache: TierCache, options: { cacheNull?: boolean; ttl?: string } = {}) {
    const db = fakeDb()
    class UserService {
      readonly db = db
      constructor(readonly cache: TierCache) {}

      @cacheable({ cache: (self: UserService) => self.cache, key: (id: string) => `user:${id}`, ...options })
      async findUser(id: string): Promise<User | null> {
        return this.db.find(id)
      }
    }
    return { svc: new UserService(cache), db, UserService }
  }

  it('a miss runs the method once and writes back; a hit returns the cached value without running it', async () => {
    const namespace = uniqueName()
    const l2 = shared()
    const { svc, db } = service(track(createCache({ namespace, l2: l2() })))
    expect(await svc.findUser('1')).toEqual({ id: '1', name: 'Ada' })
    expect(await svc.findUser('1')).toEqual({ id: '1', name: 'Ada' })
    expect(await svc.findUser('2')).toEqual({ id: '2', name: 'Grace' })
    expect(db.calls).toEqual([['1'], ['2']])
    // written to the shared tier under the key, readable by another instance
    const reader = track(createCache({ namespace, l1: false, l2: l2() }))
    expect(await reader.get('user:1')).toEqual({ id: '1', name: 'Ada' })
  })

  it('concurrent callers on a cold key share one method call (single-flight), across instances of the class', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const { svc, db, UserService } = service(cache)
    const other = new UserService(cache)
    const results = await Promise.all([
      ...Array.from({ length: 50 }, () => svc.findUser('3')),
      ...Array.from({ length: 50 }, () => other.findUser('3')),
    ])
    expect(db.calls).toEqual([['3']])
    expect(new Set(results).size).toBe(1)
    expect(results[0]).toEqual({ id: '3', name: 'Linus' })
    expect(cache.stats().loads).toBe(1)
  })

  it('a negative-cache hit returns null without running the method again', async () => {
    const namespace = uniqueName()
    const l2 = shared()
    const { svc, db } = service(track(createCache({ namespace, l2: l2() })))
    expect(await svc.findUser('404')).toBeNull()
    expect(await svc.findUser('404')).toBeNull()
    // and from a fresh instance that only has the shared tier
    const { svc: fresh, db: freshDb } = service(track(createCache({ namespace, l1: false, l2: l2() })))
    expect(await fresh.findUser('404')).toBeNull()
    expect(db.calls).toEqual([['404']])
    expect(freshDb.calls).toEqual([])
  })

  it('cacheNull: false stores results but not null: a null result runs the method again next time', async () => {
    const { cache: spied, calls } = recording(track(createCache({ namespace: uniqueName(), l2: shared()() })))
    const { svc, db } = service(spied, { cacheNull: false })
    expect(await svc.findUser('404')).toBeNull()
    expect(await svc.findUser('404')).toBeNull()
    expect(await svc.findUser('1')).toEqual({ id: '1', name: 'Ada' })
    expect(await svc.findUser('1')).toEqual({ id: '1', name: 'Ada' })
    expect(db.calls).toEqual([['404'], ['404'], ['1']])
    expect(await spied.get('user:404')).toBeUndefined()
    expect(calls.filter(([name]) => name === 'set').map(([, args]) => args[0])).toEqual(['user:1'])
  })

  it('cacheNull: false is single-flight too: concurrent misses share one method call and one write', async () => {
    const { store, counts } = counting(shared()())
    const { svc, db } = service(track(createCache({ namespace: uniqueName(), l2: store })), { cacheNull: false })
    const results = await Promise.all(Array.from({ length: 20 }, () => svc.findUser('2')))
    expect(new Set(results).size).toBe(1)
    expect(db.calls).toEqual([['2']])
    expect(counts.set).toBe(1)
  })

  it('method errors reach every concurrent caller and are never cached', async () => {
    const { svc, db } = service(track(createCache({ namespace: uniqueName(), l2: shared()() })))
    db.failing = true
    const settled = await Promise.allSettled(Array.from({ length: 10 }, () => svc.findUser('1')))
    expect(settled.every((s) => s.status === 'rejected' && (s.reason as Error).message === 'db down')).toBe(true)
    expect(db.calls).toEqual([['1']])
    db.failing = false
    expect(await svc.findUser('1')).toEqual({ id: '1', name: 'Ada' })
    expect(db.calls).toEqual([['1'], ['1']])
  })

  it('ttl applies to written results', async () => {
    const clock = fakeClock()
    const { svc, db } = service(track(createCache({ namespace: uniqueName(), l2: shared()(), clock, jitter: 0 })), { ttl: '1s' })
    await svc.findUser('1')
    clock.advance(999)
    await svc.findUser('1')
    expect(db.calls).toHaveLength(1)
    clock.advance(2)
    await svc.findUser('1')
    expect(db.calls).toHaveLength(2)
  })

  it('cache as a function of this: each instance reads and writes its own cache', async () => {
    const l2 = shared()
    const a = track(createCache({ namespace: uniqueName(), l2: l2() }))
    const b = track(createCache({ namespace: uniqueName(), l2: l2() }))
    const { svc: onA, db: dbA, UserService } = service(a)
    const onB = new UserService(b)
    await onA.findUser('1')
    await onB.findUser('1')
    expect(dbA.calls).toEqual([['1'], ['1']]) // the two instances share the db, not the cache
    expect(await a.get('user:1')).toEqual({ id: '1', name: 'Ada' })
    expect(await b.get('user:1')).toEqual({ id: '1', name: 'Ada' })
    await a.delete('user:1')
    await onB.findUser('1')
    expect(dbA.calls).toHaveLength(2)
    await onA.findUser('1')
    expect(dbA.calls).toHaveLength(3)
  })
})

describe.each(backends)('@cacheable: cache failures over $name', ({ shared }) => {
  function service(cache: TierCache, onCacheError: 'ignore' | 'propagate', events: DecoratorErrorEvent[]) {
    let calls = 0
    class Widgets {
      @cacheable({ cache, key: (id: string) => `w:${id}`, onCacheError, onEvent: (e) => events.push(e) })
      async widget(id: string): Promise<{ id: string; render?: () => string } | undefined> {
        calls++
        await sleep(5)
        if (id === 'fn') return { id, render: () => 'not serializable' }
        if (id === 'undef') return undefined
        return { id }
      }
    }
    return { svc: new Widgets(), calls: () => calls }
  }

  it("onCacheError 'ignore': a closed cache does not fail the method; each failure is reported", async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const events: DecoratorErrorEvent[] = []
    const { svc, calls } = service(cache, 'ignore', events)
    await cache.close()
    expect(await svc.widget('a')).toEqual({ id: 'a' })
    expect(await svc.widget('a')).toEqual({ id: 'a' })
    expect(calls()).toBe(2)
    expect(events).toHaveLength(2)
    expect(events[0]).toMatchObject({
      type: 'decorator:error', decorator: 'cacheable', method: 'widget', namespace: cache.namespace,
      operation: 'getOrLoad', keys: ['w:a'], propagated: false,
    })
    expect(events[0]!.error).toBeInstanceOf(errors.ClosedError)
    // concurrent callers meeting the same failure share one method call and one report
    const results = await Promise.all(Array.from({ length: 10 }, () => svc.widget('b')))
    expect(results.every((r) => r?.id === 'b')).toBe(true)
    expect(calls()).toBe(3)
    expect(events).toHaveLength(3)
  })

  it("onCacheError 'ignore': an unserializable result is returned to every concurrent caller, from one method call", async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const events: DecoratorErrorEvent[] = []
    const { svc, calls } = service(cache, 'ignore', events)
    const results = await Promise.all(Array.from({ length: 10 }, () => svc.widget('fn')))
    expect(calls()).toBe(1)
    expect(results.every((r) => r?.render?.() === 'not serializable')).toBe(true)
    expect(events).toHaveLength(1)
    expect(events[0]!.error).toMatchObject({ code: 'E_UNSERIALIZABLE' })
    expect(await cache.get('w:fn')).toBeUndefined()
  })

  it("onCacheError 'ignore': an undefined result is returned, not cached, and reported as E_LOADER_RESULT", async () => {
    const events: DecoratorErrorEvent[] = []
    const { svc, calls } = service(track(createCache({ namespace: uniqueName(), l2: shared()() })), 'ignore', events)
    expect(await svc.widget('undef')).toBeUndefined()
    expect(await svc.widget('undef')).toBeUndefined()
    expect(calls()).toBe(2)
    expect(events.map((e) => (e.error as errors.TierCacheError).code)).toEqual(['E_LOADER_RESULT', 'E_LOADER_RESULT'])
  })

  it("onCacheError 'propagate': a closed cache rejects without running the method; a refused value rejects after it ran", async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const events: DecoratorErrorEvent[] = []
    const { svc, calls } = service(cache, 'propagate', events)
    await expect(svc.widget('fn')).rejects.toMatchObject({ code: 'E_UNSERIALIZABLE' })
    expect(calls()).toBe(1)
    await cache.close()
    await expect(svc.widget('a')).rejects.toBeInstanceOf(errors.ClosedError)
    expect(calls()).toBe(1)
    expect(events.map((e) => [e.operation, e.propagated])).toEqual([['getOrLoad', true], ['getOrLoad', true]])
  })

  it('a method error is propagated under both modes, never reported as a cache failure', async () => {
    const events: DecoratorErrorEvent[] = []
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    class Flaky {
      @cacheable({ cache, key: 'k', onEvent: (e) => events.push(e) })
      async ignoring(): Promise<string> {
        throw new Error('method failed')
      }

      @cacheable({ cache, key: 'k2', onCacheError: 'propagate', onEvent: (e) => events.push(e) })
      async propagating(): Promise<string> {
        throw new Error('method failed too')
      }
    }
    await expect(new Flaky().ignoring()).rejects.toThrow('method failed')
    await expect(new Flaky().propagating()).rejects.toThrow('method failed too')
    expect(events).toEqual([])
    expect(await cache.get('k', { disableLoad: true })).toBeUndefined()
  })
})

describe('@cacheable with options passed through', () => {
  it('ttl, nullTtl and allowStale reach getOrLoad; cacheNull: false reads with disableLoad and allowStale', async () => {
    const { cache, calls } = recording(track(createCache({ namespace: uniqueName() })))
    class S {
      @cacheable({ cache, key: 'a', ttl: '1m', nullTtl: '5s', allowStale: false })
      async a(): Promise<number> {
        return 1
      }

      @cacheable({ cache, key: 'b', cacheNull: false, allowStale: true, ttl: 2000 })
      async b(): Promise<number> {
        return 2
      }
    }
    await new S().a()
    await new S().b()
    expect(calls.find(([name]) => name === 'getOrLoad')![1][2]).toEqual({ ttl: 60_000, nullTtl: 5000, allowStale: false })
    expect(calls.find(([name]) => name === 'get')![1]).toEqual(['b', { disableLoad: true, allowStale: true }])
    expect(calls.find(([name]) => name === 'set')![1]).toEqual(['b', 2, { ttl: 2000 }])
  })

  it('@cacheableBatch passes ttl, nullTtl and allowStale to mgetOrLoad, and allowStale and ttl to mget/mset with cacheNull: false', async () => {
    const { cache, calls } = recording(track(createCache({ namespace: uniqueName() })))
    class S {
      @cacheableBatch({ cache, ttl: '1m', nullTtl: '5s', allowStale: false })
      async a(ids: string[]): Promise<Map<string, number | null>> {
        return new Map(ids.map((id) => [id, 1]))
      }

      @cacheableBatch({ cache, cacheNull: false, allowStale: true, ttl: 2000 })
      async b(ids: string[]): Promise<Map<string, number | null>> {
        return new Map(ids.map((id) => [id, 2]))
      }
    }
    await new S().a(['x'])
    await new S().b(['y'])
    expect(calls.find(([name]) => name === 'mgetOrLoad')![1][2]).toEqual({ ttl: 60_000, nullTtl: 5000, allowStale: false })
    expect(calls.find(([name]) => name === 'mget')![1]).toEqual([['y'], { allowStale: true }])
    expect(calls.find(([name]) => name === 'mset')![1]).toEqual([[['y', 2]], { ttl: 2000 }])
  })

  it('with Redis unreachable the cache absorbs the failure: the method result is returned and L1 serves the next call', async () => {
    const port = await freePort() // nothing listens there
    const cache = createCache({ namespace: uniqueName(), l1: lru(), l2: redis({ url: `redis://127.0.0.1:${port}`, connectTimeout: 300 }) })
    const events: DecoratorErrorEvent[] = []
    let calls = 0
    const find = cached(async (id: string) => (calls++, { id }), { cache, key: (id) => id, onEvent: (e) => events.push(e) })
    expect(await find('x')).toEqual({ id: 'x' })
    expect(await find('x')).toEqual({ id: 'x' })
    expect(calls).toBe(1)
    expect(events).toEqual([]) // nothing surfaced to the decorator
    expect(cache.stats().l2Errors).toBeGreaterThan(0)
    await cache.close()
  })
})

describe.each(backends)('cached() over $name', ({ shared }) => {
  it('wraps a plain function: cache-first, single-flight, negative caching, this passed through', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const seen: string[] = []
    const lookup = cached(async (id: string) => {
      seen.push(id)
      await sleep(10)
      return id === 'none' ? null : { id }
    }, { cache, key: (id) => `c:${id}` })
    const results = await Promise.all(Array.from({ length: 20 }, () => lookup('a')))
    expect(results.every((r) => r !== null && r.id === 'a')).toBe(true)
    expect(await lookup('none')).toBeNull()
    expect(await lookup('none')).toBeNull()
    expect(await lookup('a')).toEqual({ id: 'a' })
    expect(seen).toEqual(['a', 'none'])

    const owner = {
      cache,
      prefix: 'p',
      get: cached(async function (this: { prefix: string; cache: TierCache }, id: string) {
        return `${this.prefix}:${id}`
      }, { cache: function (this: { cache: TierCache }) {
        return this.cache
      }, key: (id) => `this:${id}` }),
    }
    expect(await owner.get('1')).toBe('p:1')
    expect(await cache.get('this:1')).toBe('p:1')
  })

  it('a synchronous function works and a synchronous throw is a rejection', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    let calls = 0
    const square = cached((n: number) => (calls++, n * n), { cache, key: (n) => String(n) })
    expect(await square(4)).toBe(16)
    expect(await square(4)).toBe(16)
    expect(calls).toBe(1)
    const boom = cached((): number => {
      throw new Error('sync boom')
    }, { cache, key: 'boom' })
    await expect(boom()).rejects.toThrow('sync boom')
  })
})

describe.each(backends)('@cacheableBatch over $name', ({ shared }) => {
  function service(cache: TierCache, options: { cacheNull?: boolean } = {}) {
    const db = fakeDb()
    class UserService {
      readonly db = db
      constructor(readonly cache: TierCache) {}

      @cacheableBatch({ cache: (self: UserService) => self.cache, keys: (id: string) => `user:${id}`, ...options })
      async findUsers(ids: string[]): Promise<Map<string, User | null>> {
        return this.db.findMany(ids)
      }
    }
    return { svc: new UserService(cache), db }
  }

  it('de-duplicates, runs the method with the misses only, fills what it left out with null, writes back in one batch', async () => {
    const { store, counts } = counting(shared()())
    const cache = track(createCache({ namespace: uniqueName(), l2: store }))
    const { svc, db } = service(cache)
    await cache.set('user:1', { id: '1', name: 'cached Ada' })
    counts.set = 0
    const result = await svc.findUsers(['1', '2', '404', '2', '1'])
    expect([...result]).toEqual([
      ['1', { id: '1', name: 'cached Ada' }],
      ['2', { id: '2', name: 'Grace' }],
      ['404', null],
    ])
    expect(db.calls).toEqual([['2', '404']])
    expect(counts).toMatchObject({ mget: 1, mset: 1, set: 0, get: 0 })
    // everything is cached now, the null too
    const again = await svc.findUsers(['404', '2'])
    expect([...again]).toEqual([['404', null], ['2', { id: '2', name: 'Grace' }]])
    expect(db.calls).toHaveLength(1)
  })

  it('an empty input resolves to an empty Map without running the method or touching the cache', async () => {
    const { store, counts } = counting(shared()())
    const { svc, db } = service(track(createCache({ namespace: uniqueName(), l2: store })))
    const result = await svc.findUsers([])
    expect(result).toEqual(new Map())
    expect(db.calls).toEqual([])
    expect(counts).toEqual({ get: 0, mget: 0, set: 0, mset: 0, delete: 0, clear: 0 })
  })

  it('items other than strings go through keys(); extra arguments reach the method; results are keyed by item', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const seen: unknown[][] = []
    class Prices {
      @cacheableBatch({ cache, keys: (sku: number) => `sku:${sku}` })
      async prices(skus: readonly number[], currency: string): Promise<Map<number, string | null>> {
        seen.push([[...skus], currency])
        return new Map(skus.filter((s) => s !== 0).map((s) => [s, `${s * 2} ${currency}`]))
      }
    }
    const p = new Prices()
    const result = await p.prices([1, 2, 0, 1], 'EUR')
    expect([...result]).toEqual([[1, '2 EUR'], [2, '4 EUR'], [0, null]])
    expect(await cache.get('sku:2')).toBe('4 EUR')
    expect(await cache.get('sku:0')).toBeNull()
    await p.prices([2, 3], 'EUR')
    expect(seen).toEqual([[[1, 2, 0], 'EUR'], [[3], 'EUR']])
  })

  it('a plain object result is accepted; a result that is neither is a method error (E_LOADER_RESULT), never cached', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    class S {
      @cacheableBatch({ cache })
      async asObject(ids: string[]): Promise<Map<string, number | null>> {
        return Object.fromEntries(ids.filter((id) => id !== 'b').map((id) => [id, id.length])) as never
      }

      @cacheableBatch({ cache })
      async asArray(ids: string[]): Promise<Map<string, number | null>> {
        return ids.map((id) => id.length) as never
      }
    }
    expect([...(await new S().asObject(['a', 'b']))]).toEqual([['a', 1], ['b', null]])
    await expect(new S().asArray(['x'])).rejects.toMatchObject({ code: 'E_LOADER_RESULT' })
    expect(await cache.get('x')).toBeUndefined()
  })

  it('method errors propagate and nothing is cached', async () => {
    const { svc, db } = service(track(createCache({ namespace: uniqueName(), l2: shared()() })))
    db.failing = true
    await expect(svc.findUsers(['1', '2'])).rejects.toThrow('db down')
    db.failing = false
    await svc.findUsers(['1', '2'])
    expect(db.calls).toEqual([['1', '2'], ['1', '2']])
  })

  it('a concurrent call joins keys another call is loading: each key reaches the method once', async () => {
    const { svc, db } = service(track(createCache({ namespace: uniqueName(), l2: shared()() })))
    const { started, release } = db.hold()
    const first = svc.findUsers(['1', '2'])
    await started // the first call's method is running
    const second = svc.findUsers(['2', '3'])
    await sleep(20) // lets the second call look its keys up and join '2' (were it later, '2' would be a hit)
    release()
    const [a, b] = await Promise.all([first, second])
    expect([...a.keys()]).toEqual(['1', '2'])
    expect([...b]).toEqual([['2', { id: '2', name: 'Grace' }], ['3', { id: '3', name: 'Linus' }]])
    expect(db.calls).toEqual([['1', '2'], ['3']])
  })

  it('cacheNull: false writes found items in one batch and leaves misses uncached', async () => {
    const { store, counts } = counting(shared()())
    const { svc, db } = service(track(createCache({ namespace: uniqueName(), l2: store })), { cacheNull: false })
    expect([...(await svc.findUsers(['1', '404']))]).toEqual([['1', { id: '1', name: 'Ada' }], ['404', null]])
    expect(counts).toMatchObject({ mget: 1, mset: 0, set: 1 }) // one entry left to write: a single set
    expect([...(await svc.findUsers(['1', '2', '3', '404']))].map(([id]) => id)).toEqual(['1', '2', '3', '404'])
    expect(db.calls).toEqual([['1', '404'], ['2', '3', '404']])
    expect(counts).toMatchObject({ mget: 2, mset: 1, set: 1 })
  })

  it('cacheNull: false: a key evicted by a decorator during the load is not written back, the others are', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const { svc, db } = service(cache, { cacheNull: false })
    class Evictor {
      @cacheEvict({ cache, key: (id: string) => `user:${id}` })
      async forget(_id: string): Promise<void> {}
    }
    const { started, release } = db.hold()
    const loading = svc.findUsers(['1', '2'])
    await started
    await new Evictor().forget('1')
    release()
    expect([...(await loading).keys()]).toEqual(['1', '2'])
    expect(await cache.get('user:1')).toBeUndefined()
    expect(await cache.get('user:2')).toEqual({ id: '2', name: 'Grace' })
  })

  it("cache failures: 'ignore' runs the method (once per item) and returns; 'propagate' throws", async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const events: DecoratorErrorEvent[] = []
    const seen: string[][] = []
    const value = (id: string) => (id === 'fn' ? { id, fn: () => 1 } : { id })
    class S {
      @cacheableBatch({ cache, onEvent: (e) => events.push(e) })
      async ignoring(ids: string[]): Promise<Map<string, object | null>> {
        seen.push(ids)
        return new Map(ids.map((id) => [id, value(id)]))
      }

      @cacheableBatch({ cache, onCacheError: 'propagate', onEvent: (e) => events.push(e) })
      async propagating(ids: string[]): Promise<Map<string, object | null>> {
        seen.push(ids)
        return new Map(ids.map((id) => [id, value(id)]))
      }
    }
    const s = new S()
    await cache.set('have', { id: 'cached' })
    // one value cannot be stored: the batch write fails after the method ran with the misses
    const result = await s.ignoring(['have', 'fn', 'b'])
    expect([...result.keys()]).toEqual(['have', 'fn', 'b'])
    expect(result.get('b')).toEqual({ id: 'b' })
    // the hit the failed call could not deliver is produced by the method, never twice for one item
    expect(seen).toEqual([['fn', 'b'], ['have']])
    expect(events.map((e) => [e.decorator, e.operation, (e.error as errors.TierCacheError).code, e.propagated]))
      .toEqual([['cacheableBatch', 'mgetOrLoad', 'E_UNSERIALIZABLE', false]])

    await expect(s.propagating(['fn'])).rejects.toMatchObject({ code: 'E_UNSERIALIZABLE' })
    await cache.close()
    seen.length = 0
    expect([...(await s.ignoring(['x', 'y', 'x']))]).toEqual([['x', { id: 'x' }], ['y', { id: 'y' }]])
    expect(seen).toEqual([['x', 'y']])
    await expect(s.propagating(['x'])).rejects.toBeInstanceOf(errors.ClosedError)
    expect(seen).toHaveLength(1)
  })
})

describe.each(backends)('@cachePut, @cacheEvict, @cacheEvictBatch over $name', ({ shared }) => {
  function service(cache: TierCache) {
    const db = fakeDb()
    const log: string[] = []
    class UserService {
      readonly db = db
      constructor(readonly cache: TierCache) {}

      @cacheable({ cache: (self: UserService) => self.cache, key: (id: string) => `user:${id}` })
      async findUser(id: string): Promise<User | null> {
        return this.db.find(id)
      }

      @cacheable({ cache: (self: UserService) => self.cache, key: (id: string) => `user:${id}`, cacheNull: false })
      async findUserNoNull(id: string): Promise<User | null> {
        return this.db.find(id)
      }

      @cachePut({ cache: (self: UserService) => self.cache, key: (user: User) => `user:${user.id}` })
      async saveUser(user: User): Promise<User> {
        log.push(`save ${user.id}`)
        await sleep(5)
        if (user.name === '') throw new Error('name required')
        this.db.rows.set(user.id, user)
        return user
      }

      @cachePut({ cache: (self: UserService) => self.cache, key: (user: User) => `user:${user.id}`, value: (_result: void, user: User) => user })
      async storeUser(user: User): Promise<void> {
        this.db.rows.set(user.id, user)
      }

      @cacheEvict({ cache: (self: UserService) => self.cache, key: (id: string) => `user:${id}` })
      async deleteUser(id: string, fail = false): Promise<void> {
        log.push(`delete ${id}: cached=${JSON.stringify(await this.cache.get(`user:${id}`))}`)
        if (fail) throw new Error('delete failed')
        this.db.rows.delete(id)
      }

      @cacheEvict({ cache: (self: UserService) => self.cache, key: (id: string) => `user:${id}` })
      async forgetUser(id: string): Promise<void> {
        this.db.rows.delete(id)
      }

      @cacheEvict({ cache: (self: UserService) => self.cache, key: (id: string) => `user:${id}`, before: true })
      async deleteUserBefore(id: string, fail = false): Promise<void> {
        log.push(`delete-before ${id}: cached=${JSON.stringify(await this.cache.get(`user:${id}`))}`)
        if (fail) throw new Error('delete failed')
        this.db.rows.delete(id)
      }

      @cacheEvictBatch({ cache: (self: UserService) => self.cache, keys: (id: string) => `user:${id}` })
      async deleteUsers(ids: Iterable<string>, fail = false): Promise<number> {
        if (fail) throw new Error('batch delete failed')
        return [...ids].length
      }

      @cacheEvictBatch({ cache: (self: UserService) => self.cache, keys: (id: string) => `user:${id}`, before: true })
      async deleteUsersBefore(ids: string[], fail = false): Promise<number> {
        log.push(`batch-before: cached=${[...(await this.cache.mget(ids.map((id) => `user:${id}`))).values()].map(String).join(',')}`)
        if (fail) throw new Error('batch delete failed')
        return ids.length
      }
    }
    return { svc: new UserService(cache), db, log }
  }

  it('@cachePut writes the result after success (the next read is a hit) and writes nothing when the method fails', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const { svc, db } = service(cache)
    expect(await svc.findUser('1')).toEqual({ id: '1', name: 'Ada' })
    expect(await svc.saveUser({ id: '1', name: 'Ada L.' })).toEqual({ id: '1', name: 'Ada L.' })
    expect(await svc.findUser('1')).toEqual({ id: '1', name: 'Ada L.' })
    await expect(svc.saveUser({ id: '1', name: '' })).rejects.toThrow('name required')
    expect(await cache.get('user:1')).toEqual({ id: '1', name: 'Ada L.' })
    await svc.storeUser({ id: '9', name: 'Nine' }) // value() stores the argument of a void method
    expect(await svc.findUser('9')).toEqual({ id: '9', name: 'Nine' })
    expect(db.calls).toEqual([['1']])
  })

  it('@cachePut during a @cacheable load in flight wins over the load result', async () => {
    for (const read of ['findUser', 'findUserNoNull'] as const) {
      const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
      const { svc, db } = service(cache)
      const { started, release } = db.hold()
      const loading = svc[read]('2')
      await started // the load has read the old row
      await svc.saveUser({ id: '2', name: 'Grace H.' })
      release()
      expect(await loading).toEqual({ id: '2', name: 'Grace' })
      expect(await cache.get('user:2'), read).toEqual({ id: '2', name: 'Grace H.' })
      expect(await svc[read]('2')).toEqual({ id: '2', name: 'Grace H.' })
    }
  })

  it('a write of another key during a load does not stop its write-back (cacheNull: false)', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const { svc, db } = service(cache)
    const { started, release } = db.hold()
    const loading = svc.findUserNoNull('2')
    await started
    await svc.saveUser({ id: '1', name: 'Ada L.' })
    await svc.forgetUser('3')
    release()
    expect(await loading).toEqual({ id: '2', name: 'Grace' })
    expect(await cache.get('user:2')).toEqual({ id: '2', name: 'Grace' })
  })

  it('@cacheEvict removes the key after success, keeps it when the method fails', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const { svc, log } = service(cache)
    await svc.findUser('1')
    await expect(svc.deleteUser('1', true)).rejects.toThrow('delete failed')
    expect(await cache.get('user:1')).toEqual({ id: '1', name: 'Ada' })
    await svc.deleteUser('1')
    expect(await cache.get('user:1')).toBeUndefined()
    // the method ran while the entry was still there: eviction came after it
    expect(log).toEqual([
      'delete 1: cached={"id":"1","name":"Ada"}',
      'delete 1: cached={"id":"1","name":"Ada"}',
    ])
    expect(await svc.findUser('1')).toBeNull()
  })

  it('@cacheEvict before: true removes the key before the method runs, even when the method then fails', async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const { svc, log } = service(cache)
    await svc.findUser('2')
    await expect(svc.deleteUserBefore('2', true)).rejects.toThrow('delete failed')
    expect(log).toEqual(['delete-before 2: cached=undefined'])
    expect(await cache.get('user:2')).toBeUndefined()
  })

  it('@cacheEvict during a @cacheable load in flight: the older result is not written back', async () => {
    for (const read of ['findUser', 'findUserNoNull'] as const) {
      const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
      const { svc, db } = service(cache)
      const { started, release } = db.hold()
      const loading = svc[read]('3')
      await started // the load has read the row
      await svc.forgetUser('3')
      release()
      expect(await loading).toEqual({ id: '3', name: 'Linus' })
      expect(await cache.get('user:3'), read).toBeUndefined()
    }
  })

  it('@cacheEvictBatch removes every distinct key in one delete, after success or before with before: true', async () => {
    const { store, counts } = counting(shared()())
    const cache = track(createCache({ namespace: uniqueName(), l2: store }))
    const { svc, log } = service(cache)
    await cache.mset([['user:1', 1], ['user:2', 2], ['user:3', 3]])
    await expect(svc.deleteUsers(['1', '2'], true)).rejects.toThrow('batch delete failed')
    expect(counts.delete).toBe(0)
    expect(await svc.deleteUsers(new Set(['1', '2', '1']))).toBe(2)
    expect(counts.delete).toBe(1)
    expect([...(await cache.mget(['user:1', 'user:2', 'user:3'])).values()]).toEqual([undefined, undefined, 3])
    await expect(svc.deleteUsersBefore(['3'], true)).rejects.toThrow('batch delete failed')
    expect(log).toEqual(['batch-before: cached=undefined'])
    expect(await cache.get('user:3')).toBeUndefined()
    expect(counts.delete).toBe(2)
    expect(await svc.deleteUsers([])).toBe(0)
    expect(counts.delete).toBe(2)
  })

  it("write and evict failures: 'ignore' returns the method's result and reports; 'propagate' throws", async () => {
    const cache = track(createCache({ namespace: uniqueName(), l2: shared()() }))
    const events: DecoratorErrorEvent[] = []
    let ran = 0
    class S {
      @cachePut({ cache, key: 'p', onEvent: (e) => events.push(e) })
      async put(): Promise<{ fn: () => number }> {
        ran++
        return { fn: () => 1 }
      }

      @cachePut({ cache, key: 'p', onCacheError: 'propagate', onEvent: (e) => events.push(e) })
      async putPropagating(): Promise<{ fn: () => number }> {
        ran++
        return { fn: () => 1 }
      }

      @cacheEvict({ cache, key: 'e', onEvent: (e) => events.push(e) })
      async evict(): Promise<string> {
        ran++
        return 'evicted'
      }

      @cacheEvict({ cache, key: 'e', before: true, onCacheError: 'propagate' })
      async evictBeforePropagating(): Promise<string> {
        ran++
        return 'evicted'
      }

      @cacheEvictBatch({ cache, onCacheError: 'propagate', onEvent: (e) => events.push(e) })
      async evictMany(_ids: string[]): Promise<string> {
        ran++
        return 'evicted'
      }
    }
    const s = new S()
    expect((await s.put()).fn()).toBe(1)
    await expect(s.putPropagating()).rejects.toMatchObject({ code: 'E_UNSERIALIZABLE' })
    expect(ran).toBe(2) // the method ran; only the write failed
    await cache.close()
    expect(await s.evict()).toBe('evicted')
    await expect(s.evictBeforePropagating()).rejects.toBeInstanceOf(errors.ClosedError)
    expect(ran).toBe(3) // with before: true the method did not run
    await expect(s.evictMany(['a', 'b'])).rejects.toBeInstanceOf(errors.ClosedError)
    expect(ran).toBe(4)
    expect(events.map((e) => [e.decorator, e.method, e.operation, e.keys, e.propagated])).toEqual([
      ['cachePut', 'put', 'set', ['p'], false],
      ['cachePut', 'putPropagating', 'set', ['p'], true],
      ['cacheEvict', 'evict', 'delete', ['e'], false],
      ['cacheEvictBatch', 'evictMany', 'mdelete', ['a', 'b'], true],
    ])
  })
})

describe('static methods and private methods', () => {
  it('decorate too; a cache function receives the class as this', async () => {
    const cache = track(createCache({ namespace: uniqueName() }))
    let calls = 0
    class Config {
      static readonly cache = cache
      @cacheable({ cache: (self: typeof Config) => self.cache, key: 'config' })
      static async load(): Promise<{ debug: boolean }> {
        calls++
        return { debug: true }
      }

      @cacheable({ cache, key: 'secret' })
      async #secret(): Promise<string> {
        calls++
        return 's3cret'
      }

      reveal(): Promise<string> {
        return this.#secret()
      }
    }
    expect(await Config.load()).toEqual({ debug: true })
    expect(await Config.load()).toEqual({ debug: true })
    expect(await new Config().reveal()).toBe('s3cret')
    expect(await new Config().reveal()).toBe('s3cret')
    expect(calls).toBe(2)
    expect(await cache.get('config')).toEqual({ debug: true })
  })
})

describe('option validation', () => {
  const cache = createCache({ namespace: 'validation', l2: false })
  const bad: [string, () => unknown, string][] = [
    ['no options', () => cacheable(undefined as never), 'options'],
    ['no cache', () => cacheable({ key: 'k' } as never), 'cache'],
    ['a cache that is not one', () => cacheable({ cache: { get: 1 } as never, key: 'k' }), 'cache'],
    ['no key', () => cacheable({ cache } as never), 'key'],
    ['an empty key', () => cacheable({ cache, key: '' }), 'key'],
    ['a numeric key', () => cacheable({ cache, key: 5 as never }), 'key'],
    ['a bad ttl', () => cacheable({ cache, key: 'k', ttl: '5 minutes' }), 'ttl'],
    ['a zero nullTtl', () => cacheable({ cache, key: 'k', nullTtl: 0 }), 'nullTtl'],
    ['a non-boolean cacheNull', () => cacheable({ cache, key: 'k', cacheNull: 'no' as never }), 'cacheNull'],
    ['a non-boolean allowStale', () => cacheable({ cache, key: 'k', allowStale: 1 as never }), 'allowStale'],
    ['an unknown onCacheError', () => cacheable({ cache, key: 'k', onCacheError: 'swallow' as never }), 'onCacheError'],
    ['a non-function onEvent', () => cacheable({ cache, key: 'k', onEvent: 'log' as never }), 'onEvent'],
    ['a misspelt option', () => cacheable({ cache, key: 'k', tll: '5m' } as never), 'tll'],
    ['batch: keys not a function', () => cacheableBatch({ cache, keys: 'id' as never }), 'keys'],
    ['batch: a non-boolean allowStale', () => cacheableBatch({ cache, allowStale: 'yes' as never }), 'allowStale'],
    ['batch: key instead of keys', () => cacheableBatch({ cache, key: 'k' } as never), 'key'],
    ['put: value not a function', () => cachePut({ cache, key: 'k', value: 3 as never }), 'value'],
    ['put: no key', () => cachePut({ cache } as never), 'key'],
    ['evict: before not a boolean', () => cacheEvict({ cache, key: 'k', before: 'yes' as never }), 'before'],
    ['evict: ttl is not an option', () => cacheEvict({ cache, key: 'k', ttl: '1m' } as never), 'ttl'],
    ['evict batch: a bad cache', () => cacheEvictBatch({ cache: null as never }), 'cache'],
    ['cached: not a function', () => cached('nope' as never, { cache, key: 'k' }), 'fn'],
    ['cached: a bad key', () => cached(async () => 1, { cache, key: null as never }), 'key'],
  ]

  it.each(bad)('%s throws InvalidOptionError naming the option', (_name, make, option) => {
    let thrown: unknown
    try {
      make()
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(errors.InvalidOptionError)
    expect(thrown).toMatchObject({ code: 'E_INVALID_OPTION', option })
  })

  it('throws when the class is defined, before any call', () => {
    let calls = 0
    const define = () => {
      class S {
        @cacheable({ cache, key: (id: string) => id, ttl: -1 })
        async find(id: string): Promise<string> {
          calls++
          return id
        }
      }
      return S
    }
    expect(define).toThrow(errors.InvalidOptionError)
    expect(define).toThrow(/@cacheable: ttl must be a non-negative/)
    expect(calls).toBe(0)
  })

  it('refuses non-method targets and the legacy (experimentalDecorators) calling convention', () => {
    const decorate = cacheable({ cache, key: 'k' }) as unknown as (...args: unknown[]) => unknown
    expect(() => decorate(undefined, { kind: 'getter', name: 'x' })).toThrow(/decorates methods; got a getter/)
    const legacy = () => decorate({}, 'method', { value: async () => 1 })
    expect(legacy).toThrow(errors.InvalidOptionError)
    expect(legacy).toThrow(/standard \(TC39\) decorator: turn experimentalDecorators off/)
  })

  it('a cache function that returns no cache rejects the call with InvalidOptionError, whatever onCacheError says', async () => {
    let calls = 0
    class S {
      missing: TierCache | undefined
      @cacheable({ cache: (self: S) => self.missing!, key: 'k' })
      async find(): Promise<number> {
        return ++calls
      }
    }
    await expect(new S().find()).rejects.toMatchObject({ code: 'E_INVALID_OPTION', option: 'cache' })
    expect(calls).toBe(0)
  })

  it("a key the cache refuses is a cache failure: 'ignore' runs the method uncached and reports E_INVALID_KEY", async () => {
    const events: DecoratorErrorEvent[] = []
    const c = track(createCache({ namespace: uniqueName(), maxKeyLength: 5 }))
    const find = cached(async (id: string) => id.length, { cache: c, key: (id) => id, onEvent: (e) => events.push(e) })
    expect(await find('much-too-long')).toBe(13)
    expect(events.map((e) => (e.error as errors.TierCacheError).code)).toEqual(['E_INVALID_KEY'])
  })
})
