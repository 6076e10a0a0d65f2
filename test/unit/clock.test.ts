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

  it('reuses one system reading until the current task ends', () => {
    const clock = coarseClock()
    expect(clock.now()).toBe(1_000_000)
    vi.setSystemTime(1_000_005) // the system clock moves within the task
    expect(clock.now()).toBe(1_000_000)
    vi.runOnlyPendingTimers() // the task ends (its setImmediate runs): the next reading asks the system
    expect(clock.now()).toBe(1_000_005)
  })

  it('asks the system again after `reads` readings, even when the task never ends', () => {
    const clock = coarseClock({ reads: 3 })
    const first = clock.now()
    vi.setSystemTime(first + 50)
    expect([clock.now(), clock.now()]).toEqual([first, first])
    expect(clock.now()).toBe(first + 50)
    expect(coarseClock().now()).toBe(first + 50)
  })

  it('schedules one end-of-task callback while busy, and nothing while idle', () => {
    const clock = coarseClock()
    expect(vi.getTimerCount()).toBe(0)
    for (let i = 0; i < 1000; i++) clock.now()
    expect(vi.getTimerCount()).toBe(1)
    vi.runOnlyPendingTimers()
    expect(vi.getTimerCount()).toBe(0)
  })

  it.each([[{ reads: 0 }], [{ reads: 1.5 }], [{ reads: '16' }]])('rejects %o with E_INVALID_OPTION naming coarseClock.reads', (options) => {
    expect(() => coarseClock(options as never)).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'coarseClock.reads' }))
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
    vi.advanceTimersByTime(99) // also ends the task: the clock reads the system again
    expect(await cache.get('k')).toBe(1)
    vi.advanceTimersByTime(2)
    expect(await cache.get('k')).toBeUndefined()
    await cache.close()
  })
})
