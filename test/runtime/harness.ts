/**
 * The harness shared by the Node, Deno and Bun entries of the runtime suite: for each
 * transport it points the environment at Redis (REDIS_URL for TCP, UPSTASH_REDIS_REST_URL and
 * _TOKEN for HTTP through the bridge), runs the suite with `createCache` from the package
 * name `tiercache` (the runtime's export condition picks its entry, whose env-driven
 * defaults pick the L2), and prints the reports for the driver (test/runtime/run.ts).
 */
import { createCache, runtime } from 'tiercache'
import { REPORT_MARKER, runSuite, type SuiteReport, type Transport } from './suite.js'

/** What each runtime's entry file supplies. */
export interface Platform {
  runtime: string
  getEnv(name: string): string | undefined
  setEnv(name: string, value: string | undefined): void
  exit(code: number): void
}

const L2_VARS = ['REDIS_URL', 'UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN', 'KV_REST_API_URL', 'KV_REST_API_TOKEN']

export async function main(platform: Platform): Promise<void> {
  const need = (name: string): string => {
    const value = platform.getEnv(name)
    if (value === undefined || value === '') throw new Error(`${name} is not set (the driver sets it)`)
    return value
  }
  const redisUrl = need('TIERCACHE_RT_REDIS_URL')
  const restUrl = need('TIERCACHE_RT_REST_URL')
  const restToken = need('TIERCACHE_RT_REST_TOKEN')
  const only = platform.getEnv('TIERCACHE_RT_ONLY') || undefined
  const reports: SuiteReport[] = []
  for (const transport of ['tcp', 'http'] as Transport[]) {
    for (const name of L2_VARS) platform.setEnv(name, undefined)
    if (transport === 'tcp') platform.setEnv('REDIS_URL', redisUrl)
    else {
      platform.setEnv('UPSTASH_REDIS_REST_URL', restUrl)
      platform.setEnv('UPSTASH_REDIS_REST_TOKEN', restToken)
    }
    const l2Name = transport === 'tcp' ? 'redis' : 'upstash'
    reports.push(await runSuite({ runtime: platform.runtime, transport, l2Name, entry: { got: runtime, expected: platform.runtime }, createCache }, { only }))
  }
  console.log(REPORT_MARKER + JSON.stringify(reports))
  platform.exit(0)
}
