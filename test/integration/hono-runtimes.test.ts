/**
 * cacheRoute on every runtime: test/support/hono-smoke.ts (MISS/HIT, HEAD, binary, one handler
 * run per stampede, streaming, ETag/304, Set-Cookie, unkeyed headers, L2 between instances,
 * stale-while-revalidate) run against the built package on Node, Bun and Deno (both from npm),
 * and in workerd (Miniflare) as a Worker bundled with the workerd export conditions, where the
 * background refresh goes through ctx.waitUntil. Needs `npm run build` first (npm test does).
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import { beforeAll, describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const smoke = join(root, 'test', 'support', 'hono-smoke.ts')
const bin = (name: string): string => join(root, 'node_modules', '.bin', name)
const script = `import { smoke } from ${JSON.stringify(smoke)}; console.log('REPORT ' + JSON.stringify(await smoke()))`
const quiet = { NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1' }

async function runReport(command: string, args: string[]): Promise<Record<string, string>> {
  const { stdout } = await promisify(execFile)(command, args, { cwd: root, env: { ...process.env, ...quiet }, timeout: 60_000 })
  const line = stdout.split('\n').find((l) => l.startsWith('REPORT '))
  if (line === undefined) throw new Error(`no report in:\n${stdout}`)
  return JSON.parse(line.slice('REPORT '.length)) as Record<string, string>
}

function allOk(report: Record<string, string>): void {
  expect(Object.keys(report).length).toBeGreaterThanOrEqual(10)
  expect(Object.fromEntries(Object.entries(report).filter(([, v]) => v !== 'ok'))).toEqual({})
}

describe('cacheRoute on each runtime', () => {
  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'adapters', 'hono', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)')
  })

  it('Node', async () => {
    allOk(await runReport(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]))
  })

  it('Bun', async () => {
    allOk(await runReport(bin('bun'), ['--no-install', '-e', script]))
  })

  it('Deno', async () => {
    allOk(await runReport(bin('deno'), ['eval', '--ext=ts', script.replace(JSON.stringify(smoke), JSON.stringify(`file://${smoke}`))]))
  })

  it('workerd (Miniflare), with the refresh kept alive by ctx.waitUntil', async () => {
    const bundled = await build({
      entryPoints: [smoke], bundle: true, write: false, format: 'esm', platform: 'neutral', target: 'es2022',
      conditions: ['workerd', 'worker', 'import'], mainFields: ['module', 'main'], absWorkingDir: root, logLevel: 'silent',
    })
    // cf: false: no request.cf data fetched from the internet
    const mf = new Miniflare({ modules: true, script: bundled.outputFiles[0]!.text, compatibilityDate: '2025-09-01', cf: false })
    try {
      const response = await mf.dispatchFetch('http://localhost/')
      allOk(await response.json() as Record<string, string>)
    } finally {
      await mf.dispose()
    }
  })
})
