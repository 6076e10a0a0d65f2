import { defineConfig } from 'vitest/config'
import { standardDecorators } from './test/support/standard-decorators.js'

export default defineConfig({
  // Oxc (Vite 8) leaves standard decorators untouched; Node cannot run them (see the plugin)
  plugins: [standardDecorators()],
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
})
