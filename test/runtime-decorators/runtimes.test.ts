import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { Miniflare } from 'miniflare'
import { describe, expect, it } from 'vitest'
import { EXPECTED } from './check.js'

/**
 * check.ts — a decorated class and cached() — on every runtime, each compiling the decorator
 * syntax with its own toolchain and importing the BUILT package by name. Node itself runs the
 * same semantics in test/integration/decorators.test.ts (vitest, through the TypeScript compiler).
 */
const root = join(import.meta.dirname, '..', '..')
const here = join('test', 'runtime-decorators')
const bin = (name: string): string => join(root, 'node_modules', '.bin', name)
// this process runs Miniflare itself
Object.assign(process.env, { CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' })
const quiet = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' }

function requireBuild(): void {
  if (!existsSync(join(root, 'dist', 'runtimes', 'default.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)')
}

function run(command: string, args: string[]): string {
  const out = spawnSync(command, args, { cwd: root, env: quiet, encoding: 'utf8', timeout: 120_000 })
  if (out.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${out.status}:\n${out.stdout}\n${out.stderr}`)
  return out.stdout
}

/** The one JSON line check() printed. */
function summary(stdout: string): unknown {
  const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'))
  if (line === undefined) throw new Error(`no summary printed:\n${stdout}`)
  return JSON.parse(line)
}

describe('decorators and cached() from the built package', () => {
  it.each([
    ['Bun (its own transpiler)', bin('bun'), [join(here, 'main.ts')]],
    ['Deno (its own transpiler)', bin('deno'), ['run', '--sloppy-imports', '--allow-read', '--allow-env', join(here, 'main.ts')]],
    ['Node through tsx (esbuild)', process.execPath, ['--import', 'tsx', join(here, 'main.ts')]],
  ])('on %s', (_name, command, args) => {
    requireBuild()
    expect(summary(run(command, args))).toEqual(EXPECTED)
  })

  it('on workerd: bundled by wrangler (esbuild), served by Miniflare', async () => {
    requireBuild()
    const out = mkdtempSync(join(tmpdir(), 'tiercache-decorators-'))
    try {
      run(bin('wrangler'), ['deploy', '--dry-run', '--outdir', out, '--config', join(here, 'wrangler.toml')])
      const script = readFileSync(join(out, 'worker.js'), 'utf8')
      expect(script).not.toMatch(/^\s*@cacheable/m) // the decorators were compiled away
      let log = '' // workerd's own output, shown when the request fails
      const collect = (stream: Readable): void => void stream.on('data', (chunk: Buffer) => (log += chunk.toString()))
      const mf = new Miniflare({
        modules: [{ type: 'ESModule', path: join(out, 'worker.js'), contents: script }],
        modulesRoot: out, // module names are relative to it (the bundle lives outside the cwd)
        compatibilityDate: '2025-09-01',
        cf: false, // never fetch the request.cf data from the internet
        handleRuntimeStdio: (stdout: Readable, stderr: Readable) => (collect(stdout), collect(stderr)),
      })
      try {
        const response = await mf.dispatchFetch('http://localhost/')
        const body = await response.text()
        expect(response.status, `${body}\n${log}`).toBe(200)
        expect(JSON.parse(body)).toEqual(EXPECTED)
      } finally {
        await mf.dispose()
      }
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  }, 120_000)
})
