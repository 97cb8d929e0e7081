import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import { topics } from '../common/topics.ts'
import { openTransport } from '../engine/open.ts'
import { INSTALL_TIMEOUT_MS, parseYaml, root, run, tool } from '../ops/tools.fixture.ts'
import { freePort } from '../test/servers.fixture.ts'

// Every role the chart probes, started with the command its pod runs and the chart's settings
// (pointed at this machine's test servers, embedded transport), answers its probes from outside
// its loopback, as the kubelet does from the node, then stops cleanly on SIGTERM within the
// pod's grace period.

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes manifests
type K8s = any

/** An address of this machine other than loopback: what a server bound to 127.0.0.1 refuses. */
const outside =
  Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1'

const dir = mkdtempSync(join(tmpdir(), 'cs-probes-'))
const children: ChildProcess[] = []
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

let docs: K8s[] = []
beforeAll(() => {
  const r = run(tool('helm'), ['template', 'cs', join(root, 'helm', 'crypto-streams')])
  expect(r.status).toBe(0)
  docs = parseYaml<K8s>(r.stdout)
}, INSTALL_TIMEOUT_MS)

/** The status as the kubelet sees it: 0 when no answer within the probe's timeout. */
async function status(url: string, timeoutMs = 2000): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })).status
  } catch {
    return 0
  }
}

async function until(
  what: string,
  f: () => Promise<boolean>,
  ms: number,
  child: ChildProcess,
): Promise<void> {
  const end = Date.now() + ms
  while (!(await f())) {
    if (child.exitCode !== null) throw new Error(`exited (code ${child.exitCode}) before ${what}`)
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(250)
  }
}

/** Starts a role as its pod would: the pod's args, the chart's settings adapted to this machine. */
async function startRole(role: string, overrides: Record<string, string> = {}) {
  const workload = docs.find(
    (d) => ['Deployment', 'StatefulSet'].includes(d.kind) && d.metadata.name === `cs-crypto-streams-${role}`,
  )
  const pod = workload.spec.template.spec
  const c = pod.containers[0]
  const settings = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'cs-crypto-streams').data
  expect(c.ports[0].containerPort).toBe(Number(settings.CS_GATEWAY_PORT))
  const dataDir = mkdtempSync(join(dir, `${role}-`))
  const port = await freePort()
  const env = {
    ...process.env,
    ...settings,
    // this machine instead of the cluster: embedded log, the test MongoDB and Redis
    CS_TRANSPORT: 'embedded',
    CS_DATA_DIR: dataDir,
    CS_GATEWAY_PORT: String(port),
    CS_SOURCE: 'replay',
    CS_SYMBOLS: 'BTCUSDT,ETHUSDT',
    MONGO_URL: process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27027/crypto',
    MONGO_DB: `probes${Date.now()}`,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:16379',
    ...overrides,
  }
  // the raw topics ingest would have created with the chart's CS_PARTITIONS (the process role reads them)
  const transport = await openTransport(loadConfig({}, { transport: 'embedded', dataDir }))
  await transport.createTopics(
    [topics.kline1m, topics.trades, topics.orderbook].map((name) => ({
      name,
      partitions: Number(settings.CS_PARTITIONS),
    })),
  )
  await transport.close()

  const child = spawn(process.execPath, ['scripts/cli.ts', ...c.args], { cwd: root, env, stdio: 'pipe' })
  children.push(child)
  const out = { log: '' }
  child.stderr.on('data', (d) => {
    out.log = (out.log + d).slice(-3000)
  })
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  const probe = (kind: string) => `http://${outside}:${port}${c[kind].httpGet.path}`
  /** One probe as the kubelet runs it: success is 200..399 within timeoutSeconds. */
  const passes = async (kind: string) => {
    const code = await status(probe(kind), (c[kind].timeoutSeconds ?? 1) * 1000)
    return code >= 200 && code < 400
  }
  const stop = async () => {
    child.kill('SIGTERM')
    return Promise.race([exited, sleep(pod.terminationGracePeriodSeconds * 1000).then(() => 'killed')])
  }
  return { child, probe, passes, stop, out }
}

describe('the chart’s probes against the real roles', () => {
  for (const role of ['process', 'gateway']) {
    it(`${role}: startup, liveness and readiness answer on the pod address; SIGTERM stops it cleanly`, async () => {
      const r = await startRole(role)
      try {
        await until(
          'startup probe',
          async () => (await status(r.probe('startupProbe'))) === 200,
          60_000,
          r.child,
        )
        expect(await status(r.probe('livenessProbe'))).toBe(200)
        await until(
          'readiness',
          async () => (await status(r.probe('readinessProbe'))) === 200,
          30_000,
          r.child,
        )
      } catch (e) {
        throw new Error(`${role}: ${(e as Error).message}\n${r.out.log}`)
      }
      expect(await r.stop(), r.out.log).toBe(0)
    }, 120_000)
  }

  it('gateway with MongoDB and Redis away: alive (no restart loop) but not ready', async () => {
    const r = await startRole('gateway', {
      MONGO_URL: `mongodb://127.0.0.1:${await freePort()}/none`,
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    })
    try {
      await until(
        'startup probe',
        async () => (await status(r.probe('startupProbe'))) === 200,
        60_000,
        r.child,
      )
      for (let i = 0; i < 3; i++) {
        expect(await r.passes('livenessProbe')).toBe(true)
        expect(await r.passes('readinessProbe')).toBe(false)
      }
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${r.out.log}`)
    }
    expect(await r.stop(), r.out.log).toBe(0)
  }, 120_000)
})
