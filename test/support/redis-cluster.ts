/**
 * Starts a private Redis Cluster for tests: three `redis-server --cluster-enabled yes` masters on
 * free loopback ports (node config files in a temp dir), joined with `redis-cli --cluster create`,
 * ready once every node reports `cluster_state:ok`. Throws, loudly, when any step fails.
 */
import { execFile, spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, INSTALL_HINT, startRedisServer, type RedisServer } from './redis-server.js'
import { afterAll, beforeAll } from 'vitest'

export interface RedisClusterHandle {
  /** One `{ url }` per node, for `createCluster({ rootNodes })`. */
  readonly rootNodes: { url: string }[]
  readonly nodes: readonly RedisServer[]
  /** Stops every node and removes the temp dir. */
  stop(): Promise<void>
}

function run(command: string, args: string[], timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

/** `redis-cli -p <port> <args…>`, bounded. */
export function redisCli(port: number, ...args: string[]): Promise<string> {
  return run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], 5000)
}

export async function startRedisCluster(size = 3): Promise<RedisClusterHandle> {
  if (spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error(`redis-cli was not found on PATH. ${INSTALL_HINT}`)
  const dir = await mkdtemp(join(tmpdir(), 'tiercache-cluster-'))
  const nodes: RedisServer[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()))
    await rm(dir, { recursive: true, force: true })
  }
  try {
    for (let i = 0; i < size; i++) {
      const nodeDir = join(dir, `node-${i}`)
      await mkdir(nodeDir)
      // nodes.conf is relative to --dir; --cluster-port picks the bus port (default port + 10000 may be taken)
      const busPort = await freePort()
      nodes.push(await startRedisServer(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort), '--dir', nodeDir]))
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`)
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], 30_000)
    const deadline = Date.now() + 15_000
    for (const node of nodes) {
      for (;;) {
        const info = await redisCli(node.port, 'CLUSTER', 'INFO').catch(() => '')
        if (info.includes('cluster_state:ok')) break
        if (Date.now() > deadline) throw new Error(`cluster node 127.0.0.1:${node.port} did not reach cluster_state:ok within 15 s:\n${info}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    return { rootNodes: nodes.map((node) => ({ url: node.url })), nodes, stop }
  } catch (error) {
    await stop()
    throw new Error(`Cannot start the test Redis Cluster: ${(error as Error).message}`, { cause: error })
  }
}

/** A cluster for the whole test file: started before its tests, stopped after them. */
export function useRedisCluster(): () => RedisClusterHandle {
  let cluster: RedisClusterHandle | undefined
  beforeAll(async () => {
    cluster = await startRedisCluster()
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })
  return () => {
    if (cluster === undefined) throw new Error('the Redis Cluster is not started (use it inside a test)')
    return cluster
  }
}
