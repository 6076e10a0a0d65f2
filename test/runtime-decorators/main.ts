/** Runs check() on Node (through tsx), Bun or Deno (with --sloppy-imports, so `./check.js` names the .ts file, as tsc wants) and prints its summary as one JSON line. */
import { check } from './check.js'

console.log(JSON.stringify(await check()))
