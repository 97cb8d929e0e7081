import { spawn } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort } from '../test/servers.fixture.ts'
import { tempDirs } from '../test/tmpdirs.ts'
import { until } from '../test/until.ts'
import { type RoleServer, startRoleServer } from './role-server.ts'

// The ingest and sink roles' HTTP face: what probes and Prometheus read.

const tmp = tempDirs('cs-role-server-')
let server: RoleServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

describe('role server', () => {
  it('/health follows its checks (503 naming the one down), /metrics is the registry, other paths 404', async () => {
    let ready = false
    server = await startRoleServer({
      role: 'ingest',
      port: 0,
      host: '127.0.0.1',
      checks: { ingest: () => ({ ok: ready, detail: ready ? 'ready' : 'catching up' }) },
    })
    const down = await fetch(`${server.url}/health`)
    expect(down.status).toBe(503)
    expect(await down.json()).toEqual({
      status: 'down',
      role: 'ingest',
      dependencies: { ingest: { ok: false, detail: 'catching up' } },
    })
    ready = true
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
    const metrics = await fetch(`${server.url}/metrics`)
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/)
    expect(await metrics.text()).toMatch(/^cs_process_cpu_user_seconds_total/m)
    expect(await (await fetch(`${server.url}/api/v3/ping`)).json()).toEqual({})
    const none = await fetch(`${server.url}/ohlc`)
    expect(none.status).toBe(404)
    expect(((await none.json()) as { error: string }).error).toBe('NOT_FOUND')
  })

  it('the ingest role answers /health once ingest is ready and /metrics with its counters', async () => {
    const port = await freePort()
    const child = spawn(process.execPath, ['scripts/cli.ts', 'ingest', '--symbols', 'BTCUSDT,ETHUSDT'], {
      env: {
        PATH: process.env.PATH,
        CS_DATA_DIR: tmp(),
        CS_GATEWAY_PORT: String(port),
        CS_REPLAY_PORT: '0',
        CS_REPLAY_SPEED: '600',
        CS_LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    })
    try {
      const url = `http://127.0.0.1:${port}`
      await until(
        'ingest role healthy',
        async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok,
        60_000,
      )
      await until(
        'ingest counters',
        async () =>
          /cs_ingest_records_out_total\{topic="crypto_kline_1m"\} [1-9]/.test(
            await (await fetch(`${url}/metrics`)).text(),
          ),
        30_000,
      )
    } finally {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
    }
  })
})
