#!/usr/bin/env node
// `npm test`: build, type-check, then every suite; ends with one line `N passed, N failed`.
// Each build or check step counts as one test; vitest reports its own counts.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const results = join(root, '.test-results')
rmSync(results, { recursive: true, force: true })
mkdirSync(results, { recursive: true })

let passed = 0
let failed = 0
const failures = []

function step(name, command, args) {
  console.log(`\n▶ ${name}`)
  const run = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: process.env })
  if (run.status === 0) passed++
  else {
    failed++
    failures.push(name)
  }
  return run.status === 0
}

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx'
step('build (tsc -p tsconfig.build.json)', npx, ['tsc', '-p', 'tsconfig.build.json'])
step('type-check everything, tests included (tsc --noEmit)', npx, ['tsc', '-p', 'tsconfig.json', '--noEmit'])

// vitest: unit, conformance, integration against real Redis, examples, package exports
const report = join(results, 'vitest.json')
console.log('\n▶ vitest')
const vitest = spawnSync(npx, ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], {
  cwd: root,
  stdio: 'inherit',
  env: process.env,
})
try {
  const json = JSON.parse(readFileSync(report, 'utf8'))
  passed += json.numPassedTests
  failed += json.numFailedTests
  if (json.numFailedTests > 0) failures.push(`vitest: ${json.numFailedTests} failed`)
  // a suite that failed to load (e.g. no Redis) has no tests to count: count it as a failure
  const broken = json.testResults.filter((file) => file.status === 'failed' && file.assertionResults.length === 0)
  failed += broken.length
  for (const file of broken) failures.push(`vitest: ${file.name} did not run: ${file.message?.split('\n')[0] ?? ''}`)
  if (vitest.status !== 0 && json.numFailedTests === 0 && broken.length === 0) {
    failed++
    failures.push(`vitest exited with ${vitest.status}`)
  }
} catch (error) {
  failed++
  failures.push(`vitest produced no report (exit ${vitest.status}): ${error.message}`)
}

if (failures.length > 0) console.log(`\nFailures:\n${failures.map((f) => `  - ${f}`).join('\n')}`)
console.log(`\n${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
