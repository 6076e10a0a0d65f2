#!/usr/bin/env node
/**
 * `tiercache-bridge`: serves the REST bridge. Runs on Node (with @hono/node-server), Bun
 * and Deno (with their own servers).
 *
 *   BRIDGE_TOKEN   required, ≥ 16 characters: the bearer token clients send
 *   REDIS_URL      default redis://127.0.0.1:6379
 *   PORT           default 8080 (0 picks a free port)
 *   HOST           default 127.0.0.1
 *   BRIDGE_ALLOW   comma-separated commands to allow although refused by default (e.g. KEYS)
 *   BRIDGE_DENY    comma-separated commands to refuse as well
 *   BRIDGE_MAX_BODY_BYTES  default 10485760
 * @module
 */
import { createBridge } from './index.js'
import { redactUrl } from '../redis-connection.js'

declare const Bun: { serve(options: { fetch: (request: Request) => Response | Promise<Response>; port: number; hostname: string }): { port: number; stop(): void } } | undefined
declare const Deno: { serve(options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void }, handler: (request: Request) => Response | Promise<Response>): { shutdown(): Promise<void> } } | undefined

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {}
const list = (value: string | undefined): string[] => (value ?? '').split(',').map((s) => s.trim()).filter(Boolean)

function fail(message: string): never {
  console.error(`tiercache-bridge: ${message}`)
  ;(globalThis as { process?: { exit(code: number): never } }).process?.exit(1)
  throw new Error(message)
}

const token = env.BRIDGE_TOKEN ?? ''
if (token.length < 16) fail('set BRIDGE_TOKEN to a secret of at least 16 characters (clients send it as Authorization: Bearer <token>)')
const url = env.REDIS_URL || 'redis://127.0.0.1:6379'
const port = Number(env.PORT ?? 8080)
const hostname = env.HOST || '127.0.0.1'
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT must be 0–65535, got ${env.PORT}`)

let bridge: ReturnType<typeof createBridge>
try {
  bridge = createBridge({
    url,
    token,
    allow: list(env.BRIDGE_ALLOW),
    deny: list(env.BRIDGE_DENY),
    ...(env.BRIDGE_MAX_BODY_BYTES ? { maxBodyBytes: Number(env.BRIDGE_MAX_BODY_BYTES) } : {}),
    onError: (error) => console.error(`tiercache-bridge: redis: ${(error as Error).message}`),
  })
} catch (error) {
  fail((error as Error).message)
}

const announce = (actualPort: number): void => {
  console.log(`tiercache-bridge listening on http://${hostname}:${actualPort} → ${redactUrl(url)}`)
}

let stop: () => Promise<void>
if (typeof Bun !== 'undefined') {
  const server = Bun.serve({ fetch: bridge.fetch, port, hostname })
  announce(server.port)
  stop = async () => server.stop()
} else if (typeof Deno !== 'undefined') {
  const server = Deno.serve({ port, hostname, onListen: (addr) => announce(addr.port) }, bridge.fetch)
  stop = () => server.shutdown()
} else {
  const { serve } = await import('@hono/node-server')
  const server = serve({ fetch: bridge.fetch, port, hostname }, (info) => announce(info.port))
  stop = () => new Promise((resolve) => server.close(() => resolve()))
}

const shutdown = (): void => {
  void Promise.all([stop(), bridge.close()]).finally(() => (globalThis as { process?: { exit(code: number): never } }).process?.exit(0))
}
const proc = (globalThis as { process?: { on(signal: string, handler: () => void): void } }).process
proc?.on('SIGINT', shutdown)
proc?.on('SIGTERM', shutdown)
