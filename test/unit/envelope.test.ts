import { describe, expect, it } from 'vitest'
import { decodeEnvelope, encodeEnvelope } from '../../src/index.js'

describe('entry envelope', () => {
  it('round-trips expiry, grace end, tags and payload', () => {
    const text = encodeEnvelope(1000, 2000, ['a|b', 'ü'], 'j{"x":"|"}')
    expect(decodeEnvelope(text)).toEqual({ expiresAt: 1000, staleUntil: 2000, tags: ['a|b', 'ü'], payload: 'j{"x":"|"}' })
    expect(decodeEnvelope(encodeEnvelope(5, 5, [], ''))).toEqual({ expiresAt: 5, staleUntil: 5, tags: [], payload: '' })
  })

  it.each([
    null, 42, '', 'hello', '{"json":true}', 'tc1|', 'tc1|1|2', 'tc1|x|2|0|j1', 'tc1|1|2|-1|j1', 'tc1|1|2|99|j1',
    'tc1|1|2|3|abcj1', 'tc1|1|2|5|[123]j1', 'tc2|1|2|0|j1',
  ])('rejects foreign or corrupt input %j', (text) => {
    expect(decodeEnvelope(text)).toBeUndefined()
  })
})
