import type { L2Store } from '../../src/index.js'
import { memoryStore } from '../../adapters/memory.js'
import { testRedis } from './helpers.js'

/**
 * The L2 backends engine tests run against. `open()` gives a handle on one shared L2:
 * memory shares one instance; redis opens a new connection each time (as separate processes would).
 */
export const backends: { name: string; shared(): () => L2Store }[] = [
  {
    name: 'memoryStore',
    shared: () => {
      const store = memoryStore()
      return () => store
    },
  },
  { name: 'redis', shared: () => () => testRedis() },
]
