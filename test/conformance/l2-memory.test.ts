import { memoryStore } from '../../adapters/memory.js'
import { describeL2Conformance } from './l2.js'

describeL2Conformance('memoryStore', () => memoryStore())
