import { serve } from '@hono/node-server'
import type { AddressInfo } from 'node:net'
import { createBridge, type Bridge, type BridgeOptions } from '../../adapters/bridge/index.js'
import { afterAll, beforeAll, inject } from 'vitest'

export const TEST_TOKEN = 'test-token-0123456789abcdef'

export interface RunningBridge {
  url: string
  token: string
  bridge: Bridge
  /** Requests served so far, by path (`/`, `/pipeline`, …). */
  requests: Map<string, number>
  close(): Promise<void>
}

/** Serves a REST bridge in front of `redisUrl` on a free loopback port. */
export async function startBridge(redisUrl: string, options: Partial<BridgeOptions> = {}): Promise<RunningBridge> {
  const bridge = createBridge({ url: redisUrl, token: TEST_TOKEN, ...options })
  const requests = new Map<string, number>()
  const counted = (request: Request): Response | Promise<Response> => {
    const path = new URL(request.url).pathname
    requests.set(path, (requests.get(path) ?? 0) + 1)
    return bridge.fetch(request)
  }
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: counted, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    token: options.token ?? TEST_TOKEN,
    bridge,
    requests,
    async close() {
      await bridge.close()
      ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A bridge in front of the suite's Redis for the whole test file: started before its tests, closed after them. */
export function useBridge(): () => RunningBridge {
  let bridge: RunningBridge | undefined
  beforeAll(async () => {
    bridge = await startBridge(inject('redisUrl'))
  })
  afterAll(async () => {
    await bridge?.close()
  })
  return () => {
    if (bridge === undefined) throw new Error('the bridge is not started (use it inside a test)')
    return bridge
  }
}
