// The parts of the workerd built-in module that runtimes/workers.ts uses (present in every
// Worker; `env` at module scope and `waitUntil` outside a handler need a recent workerd).
declare module 'cloudflare:workers' {
  export const env: Record<string, unknown> | undefined
  export function waitUntil(promise: Promise<unknown>): void
}
