import { describe, expect, it } from 'vitest'
import { decodeEnvelope, encodeEnvelope } from '../../src/index.js'
import { freshPayloadStart } from '../../src/envelope.js'

describe('entry envelope', () => {
  it('round-trips expiry, grace end, tags and payload', () => {
    const text = encodeEnvelope(1000, 2000, 600, ['a|b', 'ü'], 'j{"x":"|"}')
    expect(decodeEnvelope(text)).toEqual({ expiresAt: 1000, staleUntil: 2000, ttl: 600, tags: ['a|b', 'ü'], payload: 'j{"x":"|"}' })
    expect(decodeEnvelope(encodeEnvelope(5, 5, 1, [], ''))).toEqual({ expiresAt: 5, staleUntil: 5, ttl: 1, tags: [], payload: '' })
  })

  it('reads header numbers exactly, whatever their form (digits are read without substrings)', () => {
    const now = 1_763_780_000_123
    expect(decodeEnvelope(encodeEnvelope(now, now + 30_000, 3_600_000, [], 'j1'))).toMatchObject({ expiresAt: now, staleUntil: now + 30_000, ttl: 3_600_000 })
    expect(decodeEnvelope('tc1|1.5|2e3|1e21|0|j1')).toMatchObject({ expiresAt: 1.5, staleUntil: 2000, ttl: 1e21, payload: 'j1' })
    expect(decodeEnvelope('tc1|12345678901234567|1|1|0|j1')).toMatchObject({ expiresAt: 12345678901234567 })
    expect(decodeEnvelope('tc1|1|2|3|1x|j1')).toBeUndefined()
  })

  it.each([
    null, 42, '', 'hello', '{"json":true}', 'tc1|', 'tc1|1|2', 'tc1|1|2|3', 'tc1|x|2|3|0|j1', 'tc1|1|2|y|0|j1', 'tc1|1|2|3|-1|j1',
    'tc1|1|2|3|99|j1', 'tc1|1|2|3|3|abcj1', 'tc1|1|2|3|5|[123]j1', 'tc2|1|2|3|0|j1',
  ])('rejects foreign or corrupt input %j', (text) => {
    expect(decodeEnvelope(text)).toBeUndefined()
    if (typeof text === 'string') expect(freshPayloadStart(text, 0)).toBe(-1)
  })

  it('finds the payload of a fresh untagged envelope in place, and leaves the rest to decodeEnvelope', () => {
    const text = encodeEnvelope(1000, 2000, 600, [], 'j{"x":"|"}')
    expect(text.slice(freshPayloadStart(text, 999))).toBe(decodeEnvelope(text)!.payload)
    expect(freshPayloadStart(text, 1000)).toBe(-1) // expired (within grace: decodeEnvelope serves it stale)
    expect(freshPayloadStart(encodeEnvelope(1000, 1000, 600, ['t'], 'j1'), 0)).toBe(-1) // tags: checked by decodeEnvelope
    expect(freshPayloadStart('tc1|1000|x|600|0|j1', 0)).toBe(-1)
    expect(freshPayloadStart('tc1|1000|1000|600|0|', 0)).toBe(20)
  })
})
