import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from '@upstash/redis'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { startPrintingUrl, type Started } from '../support/process.js'
import { uniqueName } from '../support/helpers.js'

const root = join(import.meta.dirname, '..', '..')
const cli = join(root, 'dist', 'adapters', 'bridge', 'cli.js')
const running: Started[] = []
afterEach(async () => {
  for (const app of running.splice(0)) await app.stop()
})

const bin = (name: string): string => join(root, 'node_modules', '.bin', name)
const runtimes: [string, string, string[]][] = [
  ['Node', process.execPath, [cli]],
  ['Bun', bin('bun'), [cli]],
  ['Deno', bin('deno'), ['run', '--allow-all', cli]],
]

describe('the tiercache-bridge bin', () => {
  it.each(runtimes)('serves the REST protocol on %s from REDIS_URL, BRIDGE_TOKEN, PORT and HOST', async (_name, command, args) => {
    if (!existsSync(cli)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)')
    const token = `cli-token-${uniqueName()}-long-enough`
    const bridge = await startPrintingUrl(command, args, { REDIS_URL: inject('redisUrl'), BRIDGE_TOKEN: token, PORT: '0', HOST: '127.0.0.1' })
    running.push(bridge)
    expect(bridge.output()).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ → redis:\/\//)
    const client = new Redis({ url: bridge.url, token, enableTelemetry: false })
    const key = `cli:${uniqueName()}`
    expect(await client.set(key, 'via the bin', { ex: 60 })).toBe('OK')
    expect(await client.get(key)).toBe('via the bin')
    await client.del(key)
    const refused = await fetch(`${bridge.url}/`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: '["flushall"]' })
    expect(refused.status).toBe(403)
  })

  it('refuses to start without a token, and says why', () => {
    const run = spawnSync(process.execPath, [cli], { env: { ...process.env, BRIDGE_TOKEN: '', PORT: '0' }, encoding: 'utf8', timeout: 10_000 })
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('BRIDGE_TOKEN')
  })
})
