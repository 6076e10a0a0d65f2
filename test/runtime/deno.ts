// The runtime suite on Deno: `deno run --sloppy-imports --allow-env --allow-net --allow-read test/runtime/deno.ts`
// (driven by test/runtime/run.ts; --sloppy-imports lets `./harness.js` name the .ts file, as tsc wants).
import { main } from './harness.js'

declare const Deno: {
  env: { get(name: string): string | undefined; set(name: string, value: string): void; delete(name: string): void }
  exit(code: number): never
}

await main({
  runtime: 'deno',
  getEnv: (name) => Deno.env.get(name),
  setEnv: (name, value) => (value === undefined ? Deno.env.delete(name) : Deno.env.set(name, value)),
  exit: (code) => Deno.exit(code),
})
