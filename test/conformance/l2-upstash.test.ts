import { afterAll, inject } from 'vitest'
import { upstash } from '../../adapters/upstash.js'
import { startBridge, type RunningBridge } from '../support/bridge.js'
import { describeL2Conformance } from './l2.js'

let running: RunningBridge | undefined
afterAll(async () => {
  await running?.close()
})

describeL2Conformance('upstash (@upstash/redis over HTTP, through the REST bridge)', async () => {
  running = await startBridge(inject('redisUrl'))
  return upstash({ url: running.url, token: running.token })
}, { tags: true, bus: true, pubsub: false })
