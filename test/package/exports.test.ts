import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string } | string> }

/** Imports a subpath of the built package by name, from a separate Node process. */
function exportedNames(specifier: string): string[] {
  const script = `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()))`
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })) as string[]
}

describe('the built package', () => {
  it('lists types first for every subpath, and the files exist', () => {
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue
      expect(Object.keys(target)[0], subpath).toBe('types')
      expect(existsSync(join(root, target.types)), target.types).toBe(true)
      expect(existsSync(join(root, target.default)), target.default).toBe(true)
    }
  })

  it.each([
    ['tiercache', ['createCache', 'Strategy', 'errors', 'defaultSerializer', 'TierCache']],
    ['tiercache/core', ['createCacheWith', 'Strategy', 'errors', 'TierCache']],
    ['tiercache/lru', ['lru']],
    ['tiercache/memory', ['memoryStore']],
    ['tiercache/redis', ['redis', 'escapeGlob']],
    ['tiercache/upstash', ['upstash']],
    ['tiercache/bridge', ['createBridge', 'DEFAULT_DENIED']],
    ['tiercache/unstorage', ['unstorage', 'tiercacheDriver', 'encodeUnstorageKey', 'decodeUnstorageKey']],
    ['tiercache/hono', ['cacheRoute']],
    ['tiercache/dashboard', ['cacheDashboard']],
    ['tiercache/otel', ['otel', 'instrumentOtel']],
  ])('%s exports %j', (specifier, names) => {
    expect(exportedNames(specifier)).toEqual(expect.arrayContaining(names))
  })

  it('works end to end from the package name', () => {
    const script = `
      import { createCache, Strategy, errors } from 'tiercache'
      import { lru } from 'tiercache/lru'
      import { memoryStore } from 'tiercache/memory'
      const cache = createCache({ namespace: 'pkg', l1: lru(), l2: memoryStore(), ttl: Strategy.RealTime })
      await cache.set('k', new Map([[1, 2]]))
      const v = await cache.get('k')
      let code = ''
      try { await cache.set('', 1) } catch (e) { code = e instanceof errors.TierCacheError ? e.code : 'wrong class' }
      console.log(JSON.stringify({ v: [...v], code }))
    `
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })
    expect(JSON.parse(out)).toEqual({ v: [[1, 2]], code: 'E_INVALID_KEY' })
  })
})
