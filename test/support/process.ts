import { spawn, type ChildProcess } from 'node:child_process'

export interface Started {
  child: ChildProcess
  /** The first URL the process printed. */
  url: string
  output(): string
  stop(): Promise<void>
}

/**
 * Starts a command and waits until it prints an http:// URL (at most `timeoutMs`).
 * The process is killed by `stop()`.
 */
export async function startPrintingUrl(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<Started> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within ${timeoutMs} ms; output:\n${output}`)), timeoutMs)
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      const match = /https?:\/\/[^\s]+/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[0])
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited with code ${code} before printing a URL; output:\n${output}`))
    })
  })
  return {
    child,
    url,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
        setTimeout(() => child.kill('SIGKILL'), 3000).unref()
      }),
  }
}
