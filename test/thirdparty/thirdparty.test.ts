import { execFile, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { startReplayServer } from '../../ingest/replay/index.ts'

// A client we did not write (plain JDK HttpClient + WebSocket) talks to the replay server as if
// it were Binance: exchangeInfo, klines, and a combined kline+trade stream checked minute by minute.

const hasJava = spawnSync('java', ['-version']).status === 0
const source = fileURLToPath(new URL('./BinanceClient.java', import.meta.url))

describe('third-party Binance client (Java 17, JDK only)', () => {
  if (!hasJava) {
    it.skip('skipped: no `java` on PATH (install a JDK 17+ to run BinanceClient.java)', () => {})
    return
  }
  it('reads exchangeInfo, klines and the combined stream; exits 0', async () => {
    // 600× speed: a virtual minute every 100 ms
    const server = await startReplayServer({ symbols: ['BTCUSDT'], from: '2024-01-01T01:00:00Z', speed: 600 })
    try {
      const out = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile('java', [source, server.restUrl, server.wsUrl], { timeout: 60_000 }, (e, stdout, stderr) =>
          resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout: stdout + stderr }),
        )
      })
      expect(out.stdout).toContain('ALL OK')
      expect(out.code).toBe(0)
    } finally {
      await server.close()
    }
  }, 90_000)
})
