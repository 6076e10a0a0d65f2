import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { coarseClock, createCacheWith, isCoarseClock, systemClock } from '../../src/index.js'
import { createCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'

describe('coarseClock()', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('reuses one system reading until its timer fires', () => {
    const clock = coarseClock()
    expect(clock.now()).toBe(1_000_000)
    vi.setSystemTime(1_000_000.5) // the system clock moves, the timer has not fired yet
    expect(clock.now()).toBe(1_000_000)
    vi.advanceTimersByTime(1) // the 1 ms timer fires: the next reading asks the system
    expect(clock.now()).toBe(Date.now())
    expect(clock.now()).toBeGreaterThan(1_000_000)
  })

  it('asks the system again after `reads` readings, even when no timer could fire', () => {
    const clock = coarseClock({ reads: 3 })
    const first = clock.now()
    vi.setSystemTime(first + 50)
    expect([clock.now(), clock.now()]).toEqual([first, first])
    expect(clock.now()).toBe(first + 50)
  })

  it('arms one timer while busy and none while idle', () => {
    const clock = coarseClock({ resolution: 5 })
    expect(vi.getTimerCount()).toBe(0)
    for (let i = 0; i < 1000; i++) clock.now()
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(5)
    expect(vi.getTimerCount()).toBe(0)
  })

  it.each([
    [{ resolution: 0 }, 'coarseClock.resolution'],
    [{ resolution: Number.POSITIVE_INFINITY }, 'coarseClock.resolution'],
    [{ resolution: '1ms' }, 'coarseClock.resolution'],
    [{ reads: 0 }, 'coarseClock.reads'],
    [{ reads: 1.5 }, 'coarseClock.reads'],
  ])('rejects %o with E_INVALID_OPTION naming %s', (options, option) => {
    expect(() => coarseClock(options as never)).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option }))
  })

  it('is what the runtime entries give a cache; createCacheWith keeps the system clock', () => {
    const entry = createCache({ namespace: 'clock-entry', l2: false })
    const core = createCacheWith({ namespace: 'clock-core', l1: lru() })
    expect(entry.diagnostics().config.clock).toBe('coarse')
    expect(core.diagnostics().config.clock).toBe('system')
    expect(isCoarseClock(systemClock)).toBe(false)
    void entry.close()
    void core.close()
  })

  it('lets an entry expire on time in a cache that uses it', async () => {
    const cache = createCacheWith({ namespace: 'clock-expiry', l1: lru(), ttl: 100, jitter: 0, clock: coarseClock() })
    await cache.set('k', 1)
    expect(await cache.get('k')).toBe(1)
    vi.advanceTimersByTime(99)
    expect(await cache.get('k')).toBe(1)
    vi.advanceTimersByTime(2)
    expect(await cache.get('k')).toBeUndefined()
    await cache.close()
  })
})
