/**
 * One cache instance in a process of its own, driven over HTTP by the multi-process tests.
 * Env: NAMESPACE, REDIS_URL or (UPSTASH_REDIS_REST_URL + UPSTASH_REDIS_REST_TOKEN), TRANSPORT,
 * POLL_INTERVAL. Prints its URL once listening.
 */
import { createServer } from 'node:http'
import { createCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { redis } from '../../adapters/redis.js'
import { upstash } from '../../adapters/upstash.js'

const env = process.env
const l2 = env.REDIS_URL ? redis({ url: env.REDIS_URL }) : upstash({ url: env.UPSTASH_REDIS_REST_URL!, token: env.UPSTASH_REDIS_REST_TOKEN! })
const cache = createCache({
  namespace: env.NAMESPACE!,
  l1: lru(),
  l2,
  ttl: '1h',
  invalidation: { transport: (env.TRANSPORT ?? 'auto') as 'auto', pollInterval: Number(env.POLL_INTERVAL ?? 100) },
})

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x')
  const [, action, arg = ''] = url.pathname.split('/').map(decodeURIComponent)
  let body = ''
  for await (const chunk of req) body += chunk
  try {
    let result: unknown = null
    if (action === 'get') result = { value: (await cache.get(arg, { disableLoad: true })) ?? null }
    else if (action === 'set') await cache.set(arg, JSON.parse(body), url.searchParams.has('tag') ? { tags: url.searchParams.getAll('tag') } : undefined)
    else if (action === 'delete') await cache.delete(arg)
    else if (action === 'deleteByTag') result = await cache.deleteByTag(arg)
    else if (action === 'clear') await cache.clear()
    else if (action === 'stats') result = cache.stats()
    else {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result))
  } catch (error) {
    res.writeHead(500).end(String(error))
  }
})

await cache.ready()
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  console.log(`cache process listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`)
})
const stop = (): void => {
  server.close()
  void cache.close().then(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
