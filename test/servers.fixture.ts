import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

// Throwaway servers a test may stop and start again (the shared test servers are never stopped).
// Data survives a restart: Redis with an fsync'd append-only file, FerretDB with its SQLite files,
// Kafka with its log dirs (test/e2e/kafka.fixture.ts). The binaries are the ones scripts/services
// installs.

const services = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'services')

export async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
  return port
}

async function listening(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host: '127.0.0.1' }, () => {
        s.destroy()
        resolve(true)
      })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`)
    await sleep(50)
  }
}

/** A `: "${NAME:=default}"` default of a service script, overridable by the same env variable. */
function scriptDefault(script: string, name: string): string {
  const env = process.env[name]
  if (env) return env
  const m = readFileSync(join(services, script), 'utf8').match(new RegExp(`: "\\$\\{${name}:=([^}]+)\\}"`))
  if (!m) throw new Error(`${script} has no default for ${name}`)
  return m[1]!.replace('$HOME', homedir())
}

/** Where scripts/services/mongo.sh keeps the FerretDB binary; built by it when missing. */
export function ferretdbBinary(): string {
  const bin = join(
    scriptDefault('mongo.sh', 'CS_TOOLS_DIR'),
    `ferretdb-${scriptDefault('mongo.sh', 'FERRETDB_VERSION')}`,
  )
  if (!existsSync(bin))
    throw new Error(`${bin} is missing: run scripts/services/mongo.sh start once (it builds it)`)
  return bin
}

export class ThrowawayServer {
  readonly port: number
  readonly dir: string
  private readonly cmd: string
  private readonly args: string[]
  /** How long a SIGTERM may take (a flush, a controlled shutdown) before SIGKILL. */
  protected stopGraceMs = 10_000
  private child: ChildProcess | undefined

  constructor(port: number, dir: string, cmd: string, args: string[]) {
    this.port = port
    this.dir = dir
    this.cmd = cmd
    this.args = args
  }

  async start(): Promise<void> {
    const child = spawn(this.cmd, this.args, { stdio: 'ignore' })
    this.child = child
    await this.ready()
  }

  /** Resolves once the server answers; a port that accepts connections by default. */
  protected ready(): Promise<void> {
    return listening(this.port, 30_000)
  }

  /** SIGTERM and wait for the exit (the servers flush their data on SIGTERM). */
  async stop(): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null) return
    this.child = undefined
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await Promise.race([exited, sleep(this.stopGraceMs)])
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }

  async destroy(): Promise<void> {
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

export async function throwawayRedis(): Promise<ThrowawayServer> {
  execFileSync('redis-server', ['--version']) // installed by scripts/services/redis.sh
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'cs-redis-'))
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '']
  args.push('--appendonly', 'yes', '--appendfsync', 'always')
  const s = new ThrowawayServer(port, dir, 'redis-server', args)
  await s.start()
  return s
}

export async function throwawayFerretdb(): Promise<ThrowawayServer> {
  const bin = ferretdbBinary()
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'cs-ferretdb-'))
  mkdirSync(join(dir, 'data'))
  const s = new ThrowawayServer(port, dir, bin, [
    '--handler=sqlite',
    `--sqlite-url=file:${dir}/data/`,
    `--listen-addr=127.0.0.1:${port}`,
    `--state-dir=${dir}`,
    '--debug-addr=-',
    '--telemetry=disable',
    '--log-level=warn',
  ])
  await s.start()
  return s
}
