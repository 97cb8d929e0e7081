import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import type { Kline } from '../common/records.ts'
import { type Platform, startPlatform } from './platform.ts'

// What `npm start` runs, on ephemeral ports and a temp dir: replay → ingest → engine → status.
const dir = mkdtempSync(join(tmpdir(), 'cs-platform-'))
let platform: Platform | undefined
afterAll(async () => {
  await platform?.close()
  rmSync(dir, { recursive: true, force: true })
})

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
      { dataDir: dir, symbols, replayPort: 0, gatewayPort: 0, replaySpeed: '600' },
    )
    platform = await startPlatform(config, { initialMinutes: 30 })
    const { url } = platform.status
    await until('health', async () => (await fetch(`${url}/health`)).status === 200)
    await until('5m candles of every symbol', async () => {
      const body = (await (await fetch(url)).json()) as { latest5m: Record<string, Kline | null> }
      return symbols.every((s) => body.latest5m[s]?.symbol === s)
    })
    const metrics = await (await fetch(`${url}/metrics`)).text()
    expect(metrics).toMatch(/cs_ingest_messages_in_total\{stream="btcusdt@kline_1m"\} [1-9]/)
    expect((await fetch(`${url}/nope`)).status).toBe(404)
  })
})
