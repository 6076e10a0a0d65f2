import { Redis } from '@upstash/redis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createBridge } from '../../adapters/bridge/index.js'
import { startBridge, type RunningBridge } from '../support/bridge.js'
import { sleep, uniqueName } from '../support/helpers.js'
import { startRedisServer, type RedisServer } from '../support/redis-server.js'

let running: RunningBridge
let redis: Redis
let ns: string
const k = (name: string): string => `${ns}:${name}`

beforeAll(async () => {
  running = await startBridge(inject('redisUrl'), { maxBodyBytes: 2 * 1024 * 1024 })
  redis = new Redis({ url: running.url, token: running.token, enableTelemetry: false })
  ns = `bridge-${uniqueName()}`
})
afterAll(async () => {
  const keys = (await new Redis({ url: running.url, token: running.token, automaticDeserialization: false }).scan(0, { match: `${ns}:*`, count: 10_000 }))[1]
  if (keys.length > 0) await redis.del(...keys)
  await running.close()
})

/** A raw request, for status codes and bodies the client hides. */
async function raw(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown; text: string; headers: Headers }> {
  const response = await fetch(`${running.url}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${running.token}`, 'Content-Type': 'application/json', ...headers },
    body,
  })
  const text = await response.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, json, text, headers: response.headers }
}

describe('REST bridge with the real @upstash/redis client', () => {
  it('strings, counters and expiry', async () => {
    expect(await redis.set(k('s'), 'hello')).toBe('OK')
    expect(await redis.get(k('s'))).toBe('hello')
    expect(await redis.append(k('s'), ' world')).toBe(11)
    expect(await redis.getrange(k('s'), 0, 4)).toBe('hello')
    expect(await redis.exists(k('s'), k('nope'))).toBe(1)
    expect(await redis.incr(k('n'))).toBe(1)
    expect(await redis.incrby(k('n'), 41)).toBe(42)
    expect(await redis.decr(k('n'))).toBe(41)
    expect(await redis.incrbyfloat(k('f'), 1.5)).toBe(1.5)
    expect(await redis.set(k('e'), 'x', { px: 600 })).toBe('OK')
    expect(await redis.pttl(k('e'))).toBeGreaterThan(0)
    await sleep(700)
    expect(await redis.get(k('e'))).toBeNull()
    await redis.set(k('e2'), 'y', { ex: 100 })
    expect(await redis.ttl(k('e2'))).toBeGreaterThan(90)
    expect(await redis.persist(k('e2'))).toBe(1)
    expect(await redis.ttl(k('e2'))).toBe(-1)
    expect(await redis.mset({ [k('m1')]: 'a', [k('m2')]: 'b' })).toBe('OK')
    expect(await redis.mget(k('m1'), k('m2'), k('m3'))).toEqual(['a', 'b', null])
    expect(await redis.del(k('m1'), k('m2'))).toBe(2)
  })

  it('JSON objects as the client serializes them', async () => {
    await redis.set(k('obj'), { a: 1, b: [true, null] })
    expect(await redis.get(k('obj'))).toEqual({ a: 1, b: [true, null] })
  })

  it('hashes, lists, sets and sorted sets', async () => {
    expect(await redis.hset(k('h'), { a: '1', b: 'two' })).toBe(2)
    expect(await redis.hget(k('h'), 'b')).toBe('two')
    expect(await redis.hincrby(k('h'), 'a', 5)).toBe(6)
    expect(await redis.hgetall(k('h'))).toEqual({ a: 6, b: 'two' })
    expect(await redis.hdel(k('h'), 'a')).toBe(1)

    expect(await redis.rpush(k('l'), 'a', 'b', 'c')).toBe(3)
    expect(await redis.lpush(k('l'), 'z')).toBe(4)
    expect(await redis.lrange(k('l'), 0, -1)).toEqual(['z', 'a', 'b', 'c'])
    expect(await redis.lpop(k('l'))).toBe('z')
    expect(await redis.llen(k('l'))).toBe(3)

    expect(await redis.sadd(k('set'), 'x', 'y', 'x')).toBe(2)
    expect((await redis.smembers(k('set'))).sort()).toEqual(['x', 'y'])
    expect(await redis.sismember(k('set'), 'y')).toBe(1)
    expect(await redis.srem(k('set'), 'x')).toBe(1)

    expect(await redis.zadd(k('z'), { score: 1.5, member: 'a' }, { score: 3, member: 'b' })).toBe(2)
    expect(await redis.zscore(k('z'), 'a')).toBe(1.5)
    expect(await redis.zincrby(k('z'), 2, 'a')).toBe(3.5)
    expect(await redis.zrange(k('z'), 0, -1, { withScores: true })).toEqual(['b', 3, 'a', 3.5])
  })

  it('streams: XADD, XRANGE, XREAD, and a blocking XREAD on a connection of its own', async () => {
    const id1 = await redis.xadd(k('x'), '*', { field: 'one' })
    const id2 = await redis.xadd(k('x'), '*', { field: 'two' })
    expect(id1).toMatch(/^\d+-\d+$/)
    expect(await redis.xlen(k('x'))).toBe(2)
    const range = await redis.xrange(k('x'), '-', '+')
    expect(range).toEqual({ [id1]: { field: 'one' }, [id2]: { field: 'two' } })
    const read = (await redis.xread(k('x'), id1)) as unknown[]
    expect(JSON.stringify(read)).toContain('two')

    // XREAD BLOCK waits on its own connection; other requests go on meanwhile
    const blocked = redis.xread(k('x'), '$', { blockMS: 2000 })
    await sleep(100)
    expect(await redis.get(k('s'))).toBe('hello world') // not stuck behind the blocked read
    await redis.xadd(k('x'), '*', { field: 'three' })
    expect(JSON.stringify(await blocked)).toContain('three')
  })

  it('BLPOP blocks only its own connection', async () => {
    const waiting = raw('/', JSON.stringify(['blpop', k('bl'), 2]))
    await sleep(100)
    expect(await redis.get(k('s'))).toBe('hello world')
    await redis.rpush(k('bl'), 'item')
    expect((await waiting).json).toEqual({ result: [k('bl'), 'item'] })
  })

  it('pipelines answer in order, with errors per item', async () => {
    await redis.set(k('str'), 'v')
    const p = redis.pipeline()
    p.set(k('p1'), 'one')
    p.incr(k('p2'))
    p.lpush(k('str'), 'boom')
    p.get(k('p1'))
    const results = await p.exec({ keepErrors: true })
    expect(results.map((r) => r.result)).toEqual(['OK', 1, undefined, 'one'])
    expect(results[2]!.error).toMatch(/^WRONGTYPE/)
  })

  it('multi-exec runs a transaction and reports a failing command per item', async () => {
    const tx = redis.multi()
    tx.set(k('t1'), '1')
    tx.incr(k('t1'))
    tx.get(k('t1'))
    expect(await tx.exec()).toEqual(['OK', 2, 2])

    const response = await raw('/multi-exec', JSON.stringify([['set', k('t2'), 'a'], ['lpush', k('t2'), 'x'], ['get', k('t2')]]))
    expect(response.status).toBe(200)
    expect(response.json).toEqual([{ result: 'OK' }, { error: expect.stringMatching(/^WRONGTYPE/) }, { result: 'a' }])

    const aborted = await raw('/multi-exec', JSON.stringify([['set', k('t3'), 'a'], ['nosuchcommand']]))
    expect(aborted.status).toBe(400)
    expect((aborted.json as { error: string }).error).toMatch(/unknown command/i)
    expect(await redis.get(k('t3'))).toBeNull() // nothing of an aborted transaction ran
  })

  it('EVAL, and EVALSHA falling back to EVAL on NOSCRIPT', async () => {
    expect(await redis.eval('return ARGV[1] .. KEYS[1]', [k('key')], ['arg:'])).toBe(`arg:${k('key')}`)
    const lua = `return redis.call('incrby', KEYS[1], ARGV[1]) -- ${uniqueName()}`
    await expect(redis.evalsha('0'.repeat(40), [k('c')], ['1'])).rejects.toThrow(/NOSCRIPT/)
    const script = redis.createScript<number>(lua)
    expect(await script.exec([k('c')], ['5'])).toBe(5) // EVALSHA fails with NOSCRIPT, EVAL runs
    expect(await script.exec([k('c')], ['5'])).toBe(10)
  })

  it('binary-looking, unicode and 1 MB values round-trip byte-exact', async () => {
    const exact = new Redis({ url: running.url, token: running.token, automaticDeserialization: false, enableTelemetry: false })
    const values = [
      'ünïcødé ☃ 𝄞 日本語',
      '\u0000\u0001\u00ff\ud7ff binary-ish \r\n\t',
      'T0s=', // looks like base64 of "OK"
      'OK',
      'PONG',
      '{"not":"parsed"}',
      '12345678901234567890',
      '',
      'x'.repeat(1024 * 1024),
    ]
    for (const [i, value] of values.entries()) {
      await exact.set(k(`b${i}`), value)
      expect(await exact.get(k(`b${i}`))).toBe(value)
    }
  })

  it('WRONGTYPE on / answers 400 with the Redis error, and the client throws it', async () => {
    await redis.set(k('wt'), 'string')
    await expect(redis.lpush(k('wt'), 'x')).rejects.toThrow(/WRONGTYPE/)
    const response = await raw('/', JSON.stringify(['lpush', k('wt'), 'x']))
    expect(response.status).toBe(400)
    expect(response.json).toEqual({ error: expect.stringMatching(/^WRONGTYPE/) })
  })

  it('answers base64 only when asked, and echoes the sync token', async () => {
    await redis.set(k('enc'), 'héllo')
    const plain = await raw('/', JSON.stringify(['get', k('enc')]))
    expect(plain.json).toEqual({ result: 'héllo' })
    const encoded = await raw('/', JSON.stringify(['get', k('enc')]), { 'Upstash-Encoding': 'base64', 'upstash-sync-token': 'opaque-42' })
    expect(encoded.json).toEqual({ result: Buffer.from('héllo').toString('base64') })
    expect(encoded.headers.get('upstash-sync-token')).toBe('opaque-42')
    const ok = await raw('/', JSON.stringify(['set', k('enc'), 'x']), { 'Upstash-Encoding': 'base64' })
    expect(ok.json).toEqual({ result: 'OK' })
    const numbers = await raw('/', JSON.stringify(['set', k('num'), 12.5]))
    expect(numbers.json).toEqual({ result: 'OK' })
    expect(await redis.get(k('num'))).toBe(12.5)
  })
})

describe('REST bridge security and errors', () => {
  it('refuses a missing or wrong token with 401, without echoing it', async () => {
    const none = await fetch(`${running.url}/`, { method: 'POST', body: '["ping"]' })
    expect(none.status).toBe(401)
    const secret = 'wrong-token-that-must-not-be-echoed'
    const wrong = await raw('/', '["ping"]', { Authorization: `Bearer ${secret}` })
    expect(wrong.status).toBe(401)
    expect(wrong.text).not.toContain(secret)
    expect(wrong.json).toEqual({ error: expect.stringContaining('Unauthorized') })
    const prefix = await raw('/', '["ping"]', { Authorization: `Bearer ${running.token.slice(0, -1)}` })
    expect(prefix.status).toBe(401)
    const bad = new Redis({ url: running.url, token: 'nope', enableTelemetry: false, retry: false })
    await expect(bad.get('x')).rejects.toThrow(/Unauthorized/)
  })

  it.each(['flushall', 'FLUSHDB', 'config', 'debug', 'shutdown', 'monitor', 'save', 'bgsave', 'bgrewriteaof', 'replicaof', 'slaveof', 'module', 'acl', 'cluster', 'migrate', 'swapdb', 'keys'])(
    'refuses %s with 403 and says how to allow it',
    async (command) => {
      const response = await raw('/', JSON.stringify([command, '*']))
      expect(response.status).toBe(403)
      expect((response.json as { error: string }).error).toContain(`'${command.toUpperCase()}' is refused`)
    },
  )

  it('refuses SCRIPT FLUSH but not SCRIPT LOAD, and refuses a denied command inside a pipeline before running any of it', async () => {
    expect((await raw('/', JSON.stringify(['script', 'flush']))).status).toBe(403)
    expect((await raw('/', JSON.stringify(['script', 'load', 'return 1']))).status).toBe(200)
    const response = await raw('/pipeline', JSON.stringify([['set', k('pp'), '1'], ['flushall']]))
    expect(response.status).toBe(403)
    expect(await redis.get(k('pp'))).toBeNull()
  })

  it('refuses connection-state commands with a hint', async () => {
    const select = await raw('/', JSON.stringify(['select', '1']))
    expect(select.status).toBe(400)
    expect((await raw('/', JSON.stringify(['subscribe', 'ch']))).json).toEqual({ error: expect.stringContaining('/subscribe/<channel>') })
    expect((await raw('/', JSON.stringify(['multi']))).json).toEqual({ error: expect.stringContaining('/multi-exec') })
  })

  it('follows the allow and deny lists', async () => {
    const custom = await startBridge(inject('redisUrl'), { allow: ['keys'], deny: ['eval', 'client list'] })
    try {
      const call = (body: unknown) => fetch(`${custom.url}/`, { method: 'POST', headers: { Authorization: `Bearer ${custom.token}` }, body: JSON.stringify(body) })
      expect((await call(['keys', `${ns}:nothing-here:*`])).status).toBe(200)
      expect((await call(['eval', 'return 1', '0'])).status).toBe(403)
      expect((await call(['client', 'list'])).status).toBe(403)
      expect((await call(['client', 'id'])).status).toBe(200)
      expect((await call(['flushall'])).status).toBe(403)
    } finally {
      await custom.close()
    }
  })

  it('answers 413 for a body over the limit, 400 for malformed bodies', async () => {
    const big = await raw('/', JSON.stringify(['set', k('big'), 'x'.repeat(3 * 1024 * 1024)]))
    expect(big.status).toBe(413)
    expect(big.json).toEqual({ error: expect.stringContaining('larger than') })
    for (const [path, body] of [
      ['/', '{not json'],
      ['/', '{"a":1}'],
      ['/', '[]'],
      ['/', '[1, "x"]'],
      ['/', '[""]'],
      ['/pipeline', '["get","x"]'],
      ['/pipeline', '[]'],
      ['/pipeline', '[[42]]'],
      ['/multi-exec', 'null'],
    ] as const) {
      const response = await raw(path, body)
      expect(response.status, `${path} ${body}`).toBe(400)
      expect(response.json, `${path} ${body}`).toEqual({ error: expect.any(String) })
    }
    expect((await raw('/nope', '[]')).status).toBe(404)
  })

  it('rejects bad options when it is built', () => {
    expect(() => createBridge({ url: 'redis://x', token: 'short' })).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'bridge.token' }))
    expect(() => createBridge({ url: 'http://x', token: 'x'.repeat(16) })).toThrow(expect.objectContaining({ option: 'bridge.url' }))
    expect(() => createBridge({ token: 'x'.repeat(16) } as never)).toThrow(expect.objectContaining({ option: 'bridge.url' }))
    expect(() => createBridge({ url: 'redis://x', token: 'x'.repeat(16), maxBodyBytes: -1 })).toThrow(expect.objectContaining({ option: 'bridge.maxBodyBytes' }))
    expect(() => createBridge({ url: 'redis://x', token: 'x'.repeat(16), allow: 'KEYS' as never })).toThrow(expect.objectContaining({ option: 'bridge.allow' }))
  })
})

describe('REST bridge pub/sub over Server-Sent Events', () => {
  it('delivers published messages to subscribe and psubscribe streams', async () => {
    const channel = `${ns}:chan`
    // raw payloads: the client's JSON parsing of pmessage payloads would reject plain text
    const exact = new Redis({ url: running.url, token: running.token, automaticDeserialization: false, enableTelemetry: false })
    const sub = exact.subscribe<string>(channel)
    const psub = exact.psubscribe<string>(`${ns}:ch*`)
    const got: string[] = []
    const pgot: string[] = []
    sub.on('message', ({ message }) => got.push(String(message)))
    psub.on('pmessage', ({ channel: from, message }) => pgot.push(`${from}=${String(message)}`))
    const deadline = Date.now() + 5000
    // subscriptions are set up asynchronously: publish until both listeners are counted
    while ((await redis.publish(channel, 'warmup')) < 2 && Date.now() < deadline) await sleep(20)
    await redis.publish(channel, 'hello, with commas')
    await redis.publish(channel, 'ünïcødé')
    while ((got.length < 3 || pgot.length < 3) && Date.now() < deadline) await sleep(20)
    expect(got.filter((m) => m !== 'warmup')).toEqual(['hello, with commas', 'ünïcødé'])
    expect(pgot.filter((m) => !m.endsWith('=warmup'))).toEqual([`${channel}=hello, with commas`, `${channel}=ünïcødé`])
    await sub.unsubscribe()
    await psub.unsubscribe()
    const until = Date.now() + 3000
    while ((await redis.publish(channel, 'after')) > 0 && Date.now() < until) await sleep(20)
    expect(await redis.publish(channel, 'after')).toBe(0) // the bridge dropped both subscriptions
  })

  it('needs the token for streams too', async () => {
    const response = await fetch(`${running.url}/subscribe/x`, { method: 'POST' })
    expect(response.status).toBe(401)
  })
})

describe('REST bridge when Redis goes away', () => {
  let server: RedisServer
  let own: RunningBridge
  beforeAll(async () => {
    server = await startRedisServer()
    own = await startBridge(server.url, { connectTimeout: 500 })
  })
  afterAll(async () => {
    await own.close()
    await server.stop()
  })

  it('answers 500 with a JSON error while Redis is down, and serves again once it is back', async () => {
    const client = new Redis({ url: own.url, token: own.token, enableTelemetry: false, retry: false })
    await client.set('k', 'before')
    const health = await fetch(`${own.url}/health`)
    expect(health.status).toBe(200)

    await server.stop()
    const call = () => fetch(`${own.url}/`, { method: 'POST', headers: { Authorization: `Bearer ${own.token}` }, body: '["get","k"]' })
    const started = Date.now()
    const down = await call()
    expect(down.status).toBe(500)
    expect(await down.json()).toEqual({ error: expect.stringContaining('redis unreachable') })
    expect(Date.now() - started).toBeLessThan(5000)
    expect((await fetch(`${own.url}/health`)).status).toBe(503)

    await server.start()
    const deadline = Date.now() + 10_000
    let status = 0
    while (Date.now() < deadline) {
      status = (await call()).status
      if (status === 200) break
      await sleep(100)
    }
    expect(status).toBe(200)
    await client.set('k', 'after') // the restarted server kept nothing; writes work again
    expect(await client.get('k')).toBe('after')
  })
})
