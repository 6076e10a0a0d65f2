#!/usr/bin/env node
// `npm test`: build, type-check, then every suite; ends with one line `N passed, N failed`.
// Each build or check step counts as one test; vitest and the runtime suites report their own
// counts (every case on every runtime counts; a runtime that cannot start counts as failed).
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const started = performance.now()
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

// the packed package, as npm would publish it: publint and are-the-types-wrong
console.log('\n▶ npm pack (for publint and attw)')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const pack = spawnSync(npm, ['pack', '--json', '--pack-destination', results], { cwd: root, encoding: 'utf8', env: process.env })
let tarball
try {
  tarball = join(results, JSON.parse(pack.stdout)[0].filename)
  console.log(tarball)
} catch {
  console.log(pack.stderr)
}
for (const [name, command, args] of [
  ['publint (packed package)', npx, ['publint', 'run', '--strict']],
  // ESM-only package: CommonJS and node10 resolution are out of scope by design
  ['attw --profile esm-only (packed package)', npx, ['attw', '--profile', 'esm-only', '--no-emoji', '--no-color']],
]) {
  if (tarball === undefined) {
    failed++
    failures.push(`${name}: npm pack failed (exit ${pack.status})`)
  } else step(name, command, [...args, tarball])
}

// the runtime suite on Node, Deno, Bun and workerd, over TCP and HTTP (test/runtime/run.ts)
console.log('\n▶ runtime suites (test/runtime/run.ts)')
const runtimeRun = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test', 'runtime', 'run.ts')], { cwd: root, stdio: 'inherit', env: process.env })
let durations = ''
try {
  const report = JSON.parse(readFileSync(join(results, 'runtime.json'), 'utf8'))
  for (const runtime of report.runtimes) {
    passed += runtime.passed
    failed += runtime.failed
    if (runtime.failed > 0) failures.push(`runtime suite on ${runtime.runtime}: ${runtime.failed} failed${runtime.failures[0] ? ` (${runtime.failures[0].split('\n')[0]})` : ''}`)
  }
  durations = report.runtimes.map((r) => `${r.runtime} ${(r.ms / 1000).toFixed(1)} s`).join(', ')
  if (runtimeRun.status !== 0 && report.failed === 0) {
    failed++
    failures.push(`runtime suites exited with ${runtimeRun.status}`)
  }
} catch (error) {
  failed += 4
  failures.push(`runtime suites produced no report (exit ${runtimeRun.status}): ${error.message}; counted as 4 failed runtimes`)
}

if (durations !== '') console.log(`\nruntime suite durations: ${durations}`)
console.log(`npm test took ${((performance.now() - started) / 1000).toFixed(1)} s`)
if (failures.length > 0) console.log(`\nFailures:\n${failures.map((f) => `  - ${f}`).join('\n')}`)
console.log(`\n${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
