/**
 * The L2 contract against a local three-master Redis Cluster, with every capability.
 */
import { afterAll, beforeAll } from 'vitest'
import { redis } from '../../adapters/redis.js'
import { describeL2Conformance } from '../conformance/l2.js'
import { startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster.js'

let cluster: RedisClusterHandle
beforeAll(async () => {
  cluster = await startRedisCluster()
}, 60_000)
afterAll(async () => {
  await cluster?.stop()
})

describeL2Conformance('redis cluster (node-redis, 3 masters)', () => redis({ cluster: { rootNodes: cluster.rootNodes } }))
