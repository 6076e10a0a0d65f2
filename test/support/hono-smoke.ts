/**
 * cacheRoute's main behaviours as one self-contained check, imported by package name so it runs
 * unchanged on Node, Bun, Deno and (bundled) workerd: test/integration/hono-runtimes.test.ts
 * runs it on each. `smoke()` returns one entry per check: 'ok' or what went wrong. As a Worker
 * module, `GET /` answers with that report.
 */
import { Hono, type ExecutionContext } from 'hono'
import { createCacheWith, type TierCache } from 'tiercache/core'
import { lru } from 'tiercache/lru'
import { memoryStore } from 'tiercache/memory'
import { cacheRoute } from 'tiercache/hono'

type Ctx = ExecutionContext

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return
    await sleep(10)
  }
  throw new Error(`timed out waiting for ${what}`)
}

export async function smoke(ctx?: Ctx): Promise<Record<string, string>> {
  let now = 1_700_000_000_000
  const clock = { now: () => now }
  const store = memoryStore({ clock })
  const caches: TierCache[] = []
  const namespace = `smoke-${Math.random().toString(36).slice(2, 8)}`
  // instances of one cache: each its own L1, one shared L2
  const open = (): TierCache => {
    const cache = createCacheWith({ namespace, l1: lru(), l2: store, clock, jitter: 0 })
    caches.push(cache)
    return cache
  }
  const calls = new Map<string, number>()
  const count = (name: string): number => {
    calls.set(name, (calls.get(name) ?? 0) + 1)
    return calls.get(name)!
  }
  const build = (cache: TierCache): Hono => {
    const app = new Hono()
    app.use('*', cacheRoute({ cache, clock, ttl: '10s', grace: '1m' }))
    app.get('/json', (c) => c.json({ n: count('json') }))
    app.get('/bin', (c) => {
      count('bin')
      return c.body(new Uint8Array([0, 255, 128, 7]), 200, { 'content-type': 'application/octet-stream' })
    })
    app.get('/slow', async (c) => {
      const n = count('slow')
      await sleep(30)
      return c.text(`slow ${n}`)
    })
    app.get('/stream', (c) => {
      count('stream')
      let i = 0
      const encoder = new TextEncoder()
      return c.body(new ReadableStream<Uint8Array>({
        async pull(controller) {
          await sleep(5)
          if (i === 3) return controller.close()
          controller.enqueue(encoder.encode(`part${i++};`))
        },
      }), 200, { 'content-type': 'text/plain' })
    })
    app.get('/cookie', (c) => {
      c.header('set-cookie', `sid=${count('cookie')}`)
      return c.text('hi')
    })
    app.get('/reflect', (c) => c.text(`${c.req.header('x-forwarded-host') ?? 'clean'} ${count('reflect')}`))
    app.get('/reflect-raw', (c) => c.text(`${c.req.raw.headers.get('x-forwarded-host') ?? 'clean'} ${count('reflect-raw')}`))
    app.get('/swr', (c) => c.text(`v${count('swr')}`))
    return app
  }
  const cache = open()
  const app = build(cache)
  const get = async (path: string, init: RequestInit = {}) => {
    const res = await app.request(path, init, {}, ctx)
    const bytes = new Uint8Array(await res.arrayBuffer())
    return { status: res.status, cache: res.headers.get('x-cache'), timing: res.headers.get('server-timing') ?? '', etag: res.headers.get('etag'), bytes, text: new TextDecoder().decode(bytes) }
  }

  const checks: Record<string, () => Promise<void>> = {
    'MISS then HIT from L1': async () => {
      const miss = await get('/json')
      const hit = await get('/json')
      expectEqual([miss.cache, hit.cache, hit.text, hit.timing.split(';')[1]], ['MISS', 'HIT', miss.text, 'desc="l1"'], 'answers')
    },
    'HEAD from the GET entry': async () => {
      const head = await get('/json', { method: 'HEAD' })
      expectEqual([head.status, head.cache, head.text], [200, 'HIT', ''], 'HEAD')
    },
    'binary body byte for byte': async () => {
      await get('/bin')
      const hit = await get('/bin')
      expectEqual([hit.cache, [...hit.bytes]], ['HIT', [0, 255, 128, 7]], 'bytes')
    },
    'one handler run for a stampede': async () => {
      const answers = await Promise.all(Array.from({ length: 10 }, () => get('/slow')))
      expectEqual([calls.get('slow'), new Set(answers.map((a) => a.text)).size], [1, 1], 'runs and bodies')
    },
    'a streamed body, stored when it ends': async () => {
      const first = await get('/stream')
      const second = await get('/stream')
      expectEqual([first.text, second.cache, second.text, calls.get('stream')], ['part0;part1;part2;', 'HIT', 'part0;part1;part2;', 1], 'stream')
    },
    'ETag and 304': async () => {
      const { etag } = await get('/json')
      const notModified = await get('/json', { headers: { 'if-none-match': etag ?? '' } })
      expectEqual([/^"[A-Za-z0-9_-]{43}"$/.test(etag ?? ''), notModified.status], [true, 304], 'etag')
    },
    'Set-Cookie never stored': async () => {
      await get('/cookie')
      const second = await get('/cookie')
      expectEqual([second.cache, calls.get('cookie')], ['BYPASS', 2], 'cookie')
    },
    'unkeyed headers cannot poison (c.req.header and c.req.raw.headers)': async () => {
      for (const path of ['/reflect', '/reflect-raw']) {
        const attack = await get(path, { headers: { 'x-forwarded-host': 'evil.example' } })
        const victim = await get(path)
        expectEqual([attack.cache, victim.text.startsWith('clean')], ['BYPASS', true], path)
      }
    },
    'another instance reads it from L2': async () => {
      const other = build(open())
      const res = await other.request('/json', {}, {}, ctx)
      await res.arrayBuffer()
      expectEqual([res.headers.get('x-cache'), res.headers.get('server-timing')?.split(';')[1]], ['HIT', 'desc="l2"'], 'L2 hit')
    },
    'stale while revalidate, refreshed in the background': async () => {
      await get('/swr')
      now += 15_000
      const stale = await get('/swr')
      expectEqual([stale.cache, stale.text], ['STALE', 'v1'], 'stale answer')
      await until(async () => (await get('/swr')).text === 'v2', 'the refresh')
      expectEqual(calls.get('swr'), 2, 'handler runs')
    },
  }
  const report: Record<string, string> = {}
  for (const [name, check] of Object.entries(checks)) {
    try {
      await check()
      report[name] = 'ok'
    } catch (error) {
      report[name] = error instanceof Error ? error.message : String(error)
    }
  }
  for (const c of caches) await c.close()
  return report
}

export default {
  async fetch(_request: Request, _env: unknown, ctx: Ctx): Promise<Response> {
    return Response.json(await smoke(ctx))
  },
}
