// The runtime suite on Bun: `bun test/runtime/bun.ts` (driven by test/runtime/run.ts).
import { main } from './harness.js'

declare const Bun: { env: Record<string, string | undefined>; version: string }

await main({
  runtime: 'bun',
  getEnv: (name) => Bun.env[name],
  setEnv: (name, value) => {
    if (value === undefined) delete Bun.env[name]
    else Bun.env[name] = value
  },
  exit: (code) => process.exit(code),
})
