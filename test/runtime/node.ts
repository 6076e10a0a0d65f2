// The runtime suite on Node: `node --import tsx test/runtime/node.ts` (driven by test/runtime/run.ts).
import { main } from './harness.js'

await main({
  runtime: 'node',
  getEnv: (name) => process.env[name],
  setEnv: (name, value) => {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  },
  exit: (code) => process.exit(code),
})
