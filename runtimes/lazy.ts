/**
 * The env-driven L2 defaults of the Node, Deno and Bun entries. `redis` and `@upstash/redis`
 * are optional peer dependencies, so the entries load an adapter only when the environment
 * asks for it (`import { createCache } from 'tiercache'` works with neither installed). The
 * load is synchronous (`require` of an ES module: Node ≥ 20.19, Deno, Bun) so that the cache
 * gets the adapter's real store, with every capability it has, when it is created.
 * @module
 */
import { createRequire } from 'node:module'
import type { L2Store } from '../src/contracts.js'
import { InvalidOptionError } from '../src/errors.js'
import type { EnvTiers } from './env.js'

const load = createRequire(import.meta.url)

/**
 * Loads `../adapters/<file>` for `pkg`, or throws an `InvalidOptionError` saying what to do:
 * install the package, or (where `require` cannot load ES modules) pass `l2` yourself.
 */
function adapter<T>(file: string, pkg: string, variable: string, runtime: string): T {
  const meta = import.meta as { resolve?: (specifier: string) => string }
  const why = `${variable} is set, so tiercache/${runtime} puts L2 on ${pkg === 'redis' ? 'Redis over TCP' : 'Redis over HTTP'}`
  try {
    meta.resolve?.(pkg)
  } catch {
    throw new InvalidOptionError(`${why}, which needs the '${pkg}' package: install it (npm install ${pkg}) or pass l2 yourself`, { option: 'l2' })
  }
  try {
    return load(`../adapters/${file}`) as T
  } catch (cause) {
    const code = (cause as { code?: string }).code
    const hint = code === 'ERR_REQUIRE_ESM'
      ? `this runtime cannot load ES modules synchronously (Node ≥ 20.19 can): pass l2: ${pkg === 'redis' ? 'redis({ url })' : 'upstash({ url, token })'} from 'tiercache/${pkg === 'redis' ? 'redis' : 'upstash'}' yourself`
      : `loading its adapter failed: ${(cause as Error).message}`
    throw new InvalidOptionError(`${why}, but ${hint}`, { option: 'l2', cause })
  }
}

/** The TCP and HTTP factories of a runtime that can offer both (Node, Deno, Bun); TCP wins when both are configured. */
export function lazyTiers(runtime: string): EnvTiers {
  return {
    runtime,
    prefer: 'tcp',
    tcp: (url): L2Store => adapter<typeof import('../adapters/redis.js')>('redis.js', 'redis', 'REDIS_URL', runtime).redis({ url }),
    http: (url, token): L2Store => adapter<typeof import('../adapters/upstash.js')>('upstash.js', '@upstash/redis', 'UPSTASH_REDIS_REST_URL', runtime).upstash({ url, token }),
  }
}
