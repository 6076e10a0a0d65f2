/**
 * Starts a private redis-server on a free loopback port for tests (fault tests may stop
 * and restart it). Nothing here touches a shared Redis.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer, createConnection } from 'node:net'

export const INSTALL_HINT =
  'Integration tests need Redis: put redis-server on PATH (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL=redis://host:port.'

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.setTimeout(500)
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => {
      socket.destroy()
      resolve(data.toString().startsWith('+PONG'))
    })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

export interface RedisServer {
  readonly port: number
  readonly url: string
  stop(): Promise<void>
  start(): Promise<void>
}

/** Spawns `redis-server` on a free port, without persistence, and waits until it answers PING. */
export async function startRedisServer(extraArgs: string[] = []): Promise<RedisServer> {
  if (!hasRedisServer()) throw new Error(`redis-server was not found on PATH. ${INSTALL_HINT}`)
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], {
      stdio: 'ignore',
    })
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} on port ${port}`)
      if (await ping(port)) return
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`redis-server did not answer PING on port ${port} within 10 s`)
  }
  const stop = async (): Promise<void> => {
    const c = child
    child = undefined
    if (c === undefined || c.exitCode !== null) return
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve())
      c.kill('SIGKILL')
    })
  }
  await start()
  return { port, url: `redis://127.0.0.1:${port}`, stop, start }
}
