import type { TestProject } from 'vitest/node'
import { INSTALL_HINT, startRedisServer, type RedisServer } from './support/redis-server.js'

let server: RedisServer | undefined

/** Gives every test file a Redis URL: REDIS_URL when set, else a private redis-server. */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env.REDIS_URL
  if (url === undefined || url === '') {
    try {
      server = await startRedisServer()
    } catch (error) {
      throw new Error(`Cannot start Redis for the integration tests: ${(error as Error).message}\n${INSTALL_HINT}`)
    }
    url = server.url
  }
  project.provide('redisUrl', url)
}

export async function teardown(): Promise<void> {
  await server?.stop()
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string
  }
}
