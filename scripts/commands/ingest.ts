import { type CommandSpec, untilSignal } from './command.ts'
import { checkBinance, checkKafka, checkReplaySymbols } from './preflight.ts'

// The ingest role alone: Binance (or the replay server it starts with CS_SOURCE=replay) → raw
// topics on the transport. Scale-out runs use CS_TRANSPORT=kafka so `process` can read them.
export const ingest: CommandSpec = {
  name: 'ingest',
  description:
    'ingest only: Binance streams (or the replay server, started here with CS_SOURCE=replay) → raw topics on the transport',
  options: [
    { flags: '--transport <kind>', setting: 'transport' },
    { flags: '--source <source>', setting: 'source' },
    { flags: '--symbols <list>', setting: 'symbols' },
    { flags: '--speed <speed>', setting: 'replaySpeed' },
    { flags: '--from <instant>', setting: 'replayFrom' },
    { flags: '--partitions <n>', setting: 'partitions' },
    { flags: '--port <port>', setting: 'gatewayPort' },
  ],
  async action({ config, options, log }) {
    if (config.source === 'replay') await checkReplaySymbols(config.symbols)
    await checkBinance(config)
    await checkKafka(config)
    const stops: (() => Promise<void>)[] = []
    try {
      let urls = { binanceWsUrl: config.binanceWsUrl, binanceRestUrl: config.binanceRestUrl }
      if (config.source === 'replay') {
        const { startReplayServer } = await import('../../ingest/replay/index.ts')
        const server = await startReplayServer({
          port: config.replayPort,
          symbols: config.symbols,
          speed: config.replaySpeed === 'max' ? 'max' : Number(config.replaySpeed),
          from: config.replayFrom,
        })
        stops.push(() => server.close())
        urls = { binanceWsUrl: server.wsUrl, binanceRestUrl: server.restUrl }
      }
      const { openTransport } = await import('../../engine/open.ts')
      const transport = await openTransport(config, 'crypto-streams-ingest')
      stops.push(() => transport.close())
      const { startIngest } = await import('../../ingest/index.ts')
      const { topicPartitions } = await import('../partitions.ts')
      const handle = await startIngest({
        transport,
        config: { symbols: config.symbols, ...urls },
        options: { partitions: topicPartitions(config, options.partitions !== undefined) },
      })
      stops.push(() => handle.close())
      let ready = false
      void handle.ready.then(() => {
        ready = true
      })
      const { startRoleServer } = await import('../../gateway/role-server.ts')
      const http = await startRoleServer({
        role: 'ingest',
        port: config.gatewayPort,
        checks: { ingest: () => ({ ok: ready, detail: ready ? 'ready' : 'catching up' }) },
      })
      stops.push(() => http.close())
      log.info('ingest running', { health: `${http.url}/health`, metrics: `${http.url}/metrics` })
      await untilSignal()
      log.info('stopping')
    } finally {
      while (stops.length > 0) await stops.pop()!()
    }
  },
}
