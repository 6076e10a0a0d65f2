import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DeadlineList } from '../../src/deadlines.js'
import { systemClock, unrefTimer } from '../../src/index.js'

describe('DeadlineList (one timer for all L2 time limits of a cache)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 })
  })
  afterEach(() => {
    vi.useRealTimers()
  })
  const list = (): DeadlineList => new DeadlineList(100, { clock: systemClock, unref: unrefTimer })

  it('fires each limit at its own deadline, with one timer armed at a time', () => {
    const deadlines = list()
    const fired: string[] = []
    deadlines.add(() => fired.push('a'))
    vi.advanceTimersByTime(40)
    deadlines.add(() => fired.push('b'))
    deadlines.add(() => fired.push('c'))
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(59)
    expect(fired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(fired).toEqual(['a'])
    vi.advanceTimersByTime(39)
    expect(fired).toEqual(['a'])
    vi.advanceTimersByTime(1)
    expect(fired).toEqual(['a', 'b', 'c'])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('never fires a limit removed before its deadline, wherever it sits in the list', () => {
    const deadlines = list()
    const fired: string[] = []
    const a = deadlines.add(() => fired.push('a'))
    const b = deadlines.add(() => fired.push('b'))
    const c = deadlines.add(() => fired.push('c'))
    deadlines.remove(b)
    deadlines.remove(a)
    deadlines.remove(a) // twice is harmless
    vi.advanceTimersByTime(100)
    expect(fired).toEqual(['c'])
    deadlines.remove(c) // after it fired: harmless
    const d = deadlines.add(() => fired.push('d'))
    deadlines.remove(d)
    vi.advanceTimersByTime(200)
    expect(fired).toEqual(['c'])
  })

  it('keeps firing the rest when one handler throws', () => {
    const deadlines = list()
    const fired: string[] = []
    deadlines.add(() => {
      throw new Error('boom')
    })
    deadlines.add(() => fired.push('after'))
    vi.advanceTimersByTime(100)
    expect(fired).toEqual(['after'])
  })

  it('clear() stops the timer and drops every limit', () => {
    const deadlines = list()
    const fired: string[] = []
    deadlines.add(() => fired.push('a'))
    deadlines.clear()
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(500)
    expect(fired).toEqual([])
  })
})
