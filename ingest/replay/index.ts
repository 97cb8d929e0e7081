// Local Binance spot market-data server (REST + WebSocket) playing recorded klines. See README.md.
export { replayCommand } from './cli.ts'
export { type ReplayOptions, type ReplayServer, type ReplayStats, startReplayServer } from './server.ts'
