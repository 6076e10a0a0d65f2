import { testRedis } from '../support/helpers.js'
import { describeL2Conformance } from './l2.js'

describeL2Conformance('redis (node-redis over TCP)', () => testRedis())
