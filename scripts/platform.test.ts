import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import type { Kline } from '../common/records.ts'
import { type Platform, sinksWanted, startPlatform } from './platform.ts'

// What `npm start` runs, on ephemeral ports and a temp dir: replay → ingest → engine → gateway.
const dir = mkdtempSync(join(tmpdir(), 'cs-platform-'))
let platform: Platform | undefined
// closing flushes the engine's last commit (fsyncs), which takes seconds on a busy machine
afterAll(async () => {
  await platform?.close()
  rmSync(dir, { recursive: true, force: true })
}, 60_000)

const until = async (what: string, f: () => Promise<boolean>, ms = 60_000) => {
  const end = Date.now() + ms
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('platform command', () => {
  it('replays, ingests and aggregates: /health turns ok and 5m candles are queryable', async () => {
    const symbols = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT']
    const config = loadConfig(
      {},
      { dataDir: dir, symbols, replayPort: 0, gatewayPort: 0, replaySpeed: '600', gatewayReader: 'stores' },
    )
    // env {}: no sinks even where the test run sets MONGO_URL / REDIS_URL
    platform = await startPlatform(config, { initialMinutes: 30 }, { env: {} })
    expect(platform.sinks).toBeUndefined()
    const { url } = platform.gateway
    await until('health', async () => (await fetch(`${url}/health`)).status === 200)
    await until('5m candles of every symbol', async () => {
      const latest = async (s: string) => {
        const body = (await (await fetch(`${url}/ohlc?symbol=${s}&interval=5m&limit=1`)).json()) as {
          candles: Kline[]
        }
        return body.candles[0]?.symbol === s
      }
      return (await Promise.all(symbols.map(latest))).every(Boolean)
    })
    const health = (await (await fetch(`${url}/health`)).json()) as { dependencies: Record<string, unknown> }
    expect(health.dependencies).toMatchObject({
      engine: { ok: true },
      ingest: { ok: true },
      feed: { ok: true },
      replay: { ok: true, detail: 'speed 600' },
    })
    const metrics = await (await fetch(`${url}/metrics`)).text()
    expect(metrics).toMatch(/cs_ingest_messages_in_total\{stream="btcusdt@kline_1m"\} [1-9]/)
    expect((await fetch(`${url}/nope`)).status).toBe(404)
  }, 90_000)
})

describe('sinks in the one-command run', () => {
  it('run only when their server is set explicitly, by variable or alias', () => {
    expect(sinksWanted({})).toEqual({ mongo: false, redis: false })
    expect(sinksWanted({ MONGO_URL: 'mongodb://h/x' })).toEqual({ mongo: true, redis: false })
    expect(sinksWanted({ MONGO_URI: 'mongodb://h/x', REDIS_HOST: 'h' })).toEqual({ mongo: true, redis: true })
    expect(sinksWanted({ REDIS_URL: 'redis://h:1' })).toEqual({ mongo: false, redis: true })
  })
})
