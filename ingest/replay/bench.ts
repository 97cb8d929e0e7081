import WebSocket from 'ws'
import { figure } from '../../bench/setup.ts'
import { loadConfig } from '../../common/config.ts'
import { startReplayServer } from './server.ts'

// Frames/s served at speed 'max' to one combined-stream client reading kline_1m + trade +
// depth@100ms of the 15 default symbols (the ingest set). `node ingest/replay/bench.ts [seconds]`.

const seconds = Number(process.argv[2] ?? 5)
const symbols = loadConfig().symbols
const server = await startReplayServer({ symbols, speed: 'max', from: '2024-01-01T00:00:00Z' })
const streams = symbols.flatMap((s) => [
  `${s.toLowerCase()}@kline_1m`,
  `${s.toLowerCase()}@trade`,
  `${s.toLowerCase()}@depth@100ms`,
])
const ws = new WebSocket(`${server.wsUrl}/stream?streams=${streams.join('/')}`)
let frames = 0
let bytes = 0
ws.on('message', (d: Buffer) => {
  frames++
  bytes += d.length
})
await new Promise((r) => ws.once('open', r))
const t0 = performance.now()
const v0 = server.now()
const cpu0 = process.cpuUsage()
await new Promise((r) => setTimeout(r, seconds * 1000))
const wall = (performance.now() - t0) / 1000
const cpu = process.cpuUsage(cpu0)
const virtualMin = (server.now() - v0) / 60_000
process.stdout.write(
  `${JSON.stringify({
    symbols: symbols.length,
    framesPerSec: Math.round(frames / wall),
    MBPerSec: +(bytes / wall / 1e6).toFixed(1),
    virtualMinutesPerSec: +(virtualMin / wall).toFixed(1),
    cpuSecondsPerWallSecond: +((cpu.user + cpu.system) / 1e6 / wall).toFixed(2),
    note: 'server and client in one process',
  })}\n`,
)
figure(`replay server at max speed, ${symbols.length} symbols`, Math.round(frames / wall), 'frames/s')
ws.terminate()
await server.close()
