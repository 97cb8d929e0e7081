import { afterAll, describe, expect, it } from 'vitest'
import { type ReplayServer, startReplayServer } from '../../ingest/replay/index.ts'
import { tempDirs } from '../tmpdirs.ts'
import { type Child, startRole, until } from './child.ts'

// `platform --live` reads Binance's endpoints (BINANCE_WS_URL / BINANCE_REST_URL) instead of
// starting its own replay server. Binance cannot be reached from CI, so the endpoints here are a
// Binance-protocol replay server run by the test, standing in for Binance.

const tmp = tempDirs('cs-e2e-live-')
let binance: ReplayServer | undefined
let child: Child | undefined
afterAll(async () => {
  child?.signal('SIGTERM')
  await child?.exited
  await binance?.close()
}, 60_000)

describe('platform --live', () => {
  it('ingests from the configured Binance endpoints, prints the dashboard URL and status lines', async () => {
    binance = await startReplayServer({
      port: 0,
      symbols: ['BTCUSDT'],
      speed: 600,
      from: '2024-01-02T00:00:00Z',
    })
    child = startRole('platform', ['--live'], {
      CS_DATA_DIR: tmp(),
      CS_SYMBOLS: 'BTCUSDT',
      CS_GATEWAY_PORT: '0',
      BINANCE_WS_URL: binance.wsUrl,
      BINANCE_REST_URL: binance.restUrl,
    })
    const url = await child.url
    await until('ingest healthy', async () => (await fetch(`${url}/health`)).ok)
    const health = (await (await fetch(`${url}/health`)).json()) as { dependencies: Record<string, unknown> }
    expect(health.dependencies.ingest).toEqual({ ok: true, detail: 'ready' })
    expect(health.dependencies).not.toHaveProperty('replay') // no replay server of its own
    await until('a status line', async () => child!.stdout.some((l) => l.startsWith('live ')))
    // no replay clock in live mode
    expect(child.stdout.find((l) => l.startsWith('live '))).toMatch(
      /^live [01]\/1 symbols · in \d+\/s · out \d+\/s · lag \d+$/,
    )
    expect(binance.stats.frames).toBeGreaterThan(0)
  }, 90_000)
})
