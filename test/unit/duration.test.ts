import { describe, expect, it } from 'vitest'
import { parseDuration, Strategy } from '../../src/index.js'

describe('durations', () => {
  it('parses numbers and duration strings to milliseconds', () => {
    expect(parseDuration(0, 'ttl')).toBe(0)
    expect(parseDuration(1500, 'ttl')).toBe(1500)
    expect(parseDuration('250ms', 'ttl')).toBe(250)
    expect(parseDuration('30s', 'ttl')).toBe(30_000)
    expect(parseDuration('1.5s', 'ttl')).toBe(1500)
    expect(parseDuration('5m', 'ttl')).toBe(300_000)
    expect(parseDuration('1h', 'ttl')).toBe(3_600_000)
    expect(parseDuration('1d', 'ttl')).toBe(86_400_000)
    expect(parseDuration(' 2 m ', 'ttl')).toBe(120_000)
  })

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, '', '5', '5 weeks', '-1s', 's', null, {}, true])(
    'rejects %s with E_INVALID_OPTION naming the option',
    (bad) => {
      expect(() => parseDuration(bad, 'nullTtl')).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'nullTtl' }))
    },
  )

  it('has the reference design presets', () => {
    expect(Strategy.RealTime).toBe(10_000)
    expect(Strategy.ShortTerm).toBe(300_000)
    expect(Strategy.MediumTerm).toBe(3_600_000)
    expect(Strategy.LongTerm).toBe(10_800_000)
    expect(Strategy.Custom('90s')).toBe(90_000)
    expect(() => Strategy.Custom('later')).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION' }))
  })
})
