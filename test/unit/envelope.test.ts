import { describe, expect, it } from 'vitest'
import { decodeEnvelope, encodeEnvelope } from '../../src/index.js'

describe('entry envelope', () => {
  it('round-trips expiry, grace end, tags and payload', () => {
    const text = encodeEnvelope(1000, 2000, 600, ['a|b', 'ü'], 'j{"x":"|"}')
    expect(decodeEnvelope(text)).toEqual({ expiresAt: 1000, staleUntil: 2000, ttl: 600, tags: ['a|b', 'ü'], payload: 'j{"x":"|"}' })
    expect(decodeEnvelope(encodeEnvelope(5, 5, 1, [], ''))).toEqual({ expiresAt: 5, staleUntil: 5, ttl: 1, tags: [], payload: '' })
  })

  it.each([
    null, 42, '', 'hello', '{"json":true}', 'tc1|', 'tc1|1|2', 'tc1|1|2|3', 'tc1|x|2|3|0|j1', 'tc1|1|2|y|0|j1', 'tc1|1|2|3|-1|j1',
    'tc1|1|2|3|99|j1', 'tc1|1|2|3|3|abcj1', 'tc1|1|2|3|5|[123]j1', 'tc2|1|2|3|0|j1',
  ])('rejects foreign or corrupt input %j', (text) => {
    expect(decodeEnvelope(text)).toBeUndefined()
  })
})
