import { describe, expect, it } from 'vitest'
import { STOP_TIMEOUT_MS } from '../../scripts/commands/platform.ts'
import { tempDirs } from '../tmpdirs.ts'
import { candles, lastClosedMinute, startRole, until } from './child.ts'

// Graceful shutdown and restart of the one-command run (embedded transport, replay server):
// SIGTERM stops it within the bound with exit code 0; a restart after a downtime (the replay
// clock moved on, as Binance's does) continues where it left off — its 5m and 1h candles equal
// those of an uninterrupted run, no gap, nothing doubled.

const tmp = tempDirs('cs-e2e-restart-')
const MIN = 60_000
const symbols = ['BTCUSDT', 'ETHUSDT']
const from = Date.parse('2024-01-02T00:00:00Z')
const end = from + 2 * 60 * MIN
const envOf = (dataDir: string, at: number) => ({
  CS_DATA_DIR: dataDir,
  CS_SYMBOLS: symbols.join(','),
  CS_REPLAY_FROM: new Date(at).toISOString(),
  CS_REPLAY_SPEED: '600',
  CS_REPLAY_PORT: '0',
  CS_GATEWAY_PORT: '0',
  CS_GATEWAY_READER: 'stores',
})
const run = (dataDir: string, at: number) => startRole('platform', [], envOf(dataDir, at))
const health = async (url: string) =>
  (await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) })).status

const reached = (url: string, t: number) => async () =>
  (await Promise.all(symbols.map((s) => lastClosedMinute(url, s)))).every((m) => m >= t)

describe('platform: graceful shutdown and restart', () => {
  it('stops on SIGTERM in bounded time; the restart leaves the same candles as an uninterrupted run', async () => {
    const whole = run(tmp(), from)
    const dir = tmp()
    let first = run(dir, from)
    try {
      // interrupted run: stop 40 minutes of replay in, restart 20 minutes of replay clock later
      const url1 = await first.url
      await until('40 minutes replayed', reached(url1, from + 40 * MIN))
      const stoppedAt = Math.max(...(await Promise.all(symbols.map((s) => lastClosedMinute(url1, s)))))
      const t0 = Date.now()
      first.signal('SIGTERM')
      expect(await first.exited).toBe(0)
      expect(Date.now() - t0).toBeLessThan(STOP_TIMEOUT_MS)
      first = run(dir, stoppedAt + 20 * MIN)
      const url2 = await first.url
      const url = await whole.url
      const closed = async (u: string, s: string, iv: string) =>
        (await candles(u, s, iv, from, end)).filter((k) => k.closed)
      // 2 hours of candles: 24 of 5m, 2 of 1h per symbol, all closed
      const complete = (u: string) => async () => {
        for (const s of symbols) {
          if ((await closed(u, s, '5m')).length < 24) return false
          if ((await closed(u, s, '1h')).length < 2) return false
        }
        return true
      }
      await until('restarted run at the end', complete(url2), 150_000)
      await until('uninterrupted run at the end', complete(url), 150_000)
      for (const s of symbols)
        for (const iv of ['5m', '1h']) {
          const a = await closed(url, s, iv)
          const b = await closed(url2, s, iv)
          expect(b.length, `${s} ${iv}`).toBe(iv === '5m' ? 24 : 2)
          expect(b, `${s} ${iv}`).toEqual(a)
        }
      // the status line, with the replay clock
      await until('a status line', async () => whole.stdout.some((l) => l.startsWith('live ')))
      expect(whole.stdout.find((l) => l.startsWith('live '))).toMatch(
        /^live [0-2]\/2 symbols · in \d+\/s · out \d+\/s · lag \d+ · replay 2024-01-0\d \d\d:\d\d$/,
      )
    } finally {
      for (const c of [first, whole]) c.signal('SIGTERM')
      await Promise.all([first.exited, whole.exited])
    }
  }, 240_000)

  it('a SIGTERM during start-up stops it in bounded time with exit code 0; the restart runs on', async () => {
    const dir = tmp()
    // info logs (stderr) show the start-up's steps: the replay server is up, the engine not yet
    const env = { CS_LOG_LEVEL: 'info' }
    let child = startRole('platform', [], { ...envOf(dir, from), ...env })
    try {
      await until('the replay server started', async () => child.stderr().includes('"replay server"'), 60_000)
      const t0 = Date.now()
      child.signal('SIGTERM')
      expect(await child.exited, child.stderr().slice(-2000)).toBe(0)
      expect(Date.now() - t0).toBeLessThan(STOP_TIMEOUT_MS)
      // stopped during start-up, not after it: the platform never printed its URL
      expect(child.stdout.some((l) => l.startsWith('dashboard:'))).toBe(false)
      expect(child.stderr()).toContain('stopped during start-up')
      // what it opened was closed cleanly: the restart opens the stores and serves candles
      child = startRole('platform', [], envOf(dir, from))
      const url = await child.url
      await until('health ok', async () => (await health(url)) === 200)
      await until('candles served after the restart', reached(url, from + 5 * MIN))
      child.signal('SIGTERM')
      expect(await child.exited).toBe(0)
    } finally {
      child.signal('SIGTERM')
      await child.exited
    }
  }, 150_000)
})
