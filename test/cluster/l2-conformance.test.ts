/**
 * The L2 contract against a local three-master Redis Cluster, with every capability.
 */
import { redis } from '../../adapters/redis.js'
import { describeL2Conformance } from '../conformance/l2.js'
import { useRedisCluster } from '../support/redis-cluster.js'

const cluster = useRedisCluster()

describeL2Conformance('redis cluster (node-redis, 3 masters)', () => redis({ cluster: { rootNodes: cluster().rootNodes } }))
