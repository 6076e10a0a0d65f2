import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')

/** The code of a file without its comments (JSDoc examples may show imports). */
function code(file: string): string {
  return readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
}

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(dir, file))
}

const FORBIDDEN = [
  { what: 'node: built-ins', re: /(?:from|import)\s*\(?\s*['"]node:/ },
  { what: 'bare Node built-ins', re: /(?:from|import)\s*\(?\s*['"](?:fs|path|net|tls|os|events|crypto|child_process|buffer|stream|util)['"]/ },
  { what: 'Deno globals', re: /\bDeno\./ },
  { what: 'Bun globals', re: /\bBun\./ },
  { what: 'cloudflare: modules', re: /['"]cloudflare:/ },
  { what: 'process globals', re: /\bprocess\.(?:env|nextTick|hrtime)/ },
  { what: 'adapters/ or runtimes/', re: /from\s+['"](?:\.\.\/)+(?:adapters|runtimes)\// },
  { what: 'third-party packages', re: /from\s+['"](?![./])[^'"]+['"]/ },
]

describe('layout', () => {
  const files = sources('src')

  it('has core sources to check', () => {
    expect(files.length).toBeGreaterThan(5)
  })

  it.each(FORBIDDEN)('src/ imports no $what', ({ re }) => {
    const offenders = files.filter((file) => re.test(code(file)))
    expect(offenders).toEqual([])
  })

  it('the checks catch what they are meant to catch', () => {
    const samples = [
      "import { readFile } from 'node:fs'",
      "import net from 'net'",
      'const env = Deno.env.get("X")',
      'Bun.serve({})',
      "import { connect } from 'cloudflare:sockets'",
      'const url = process.env.REDIS_URL',
      "import { lru } from '../adapters/lru.js'",
      "import { createClient } from 'redis'",
    ]
    for (const sample of samples) expect(FORBIDDEN.some(({ re }) => re.test(sample))).toBe(true)
  })

  it('adapters/ never import runtimes/', () => {
    const offenders = sources('adapters').filter((file) => /from\s+['"](?:\.\.\/)+runtimes\//.test(code(file)))
    expect(offenders).toEqual([])
  })
})
