import { join } from 'node:path'
import { type Config, loadConfig } from '../common/config.ts'
import { createLogger } from '../common/log.ts'
import { KafkaStreams, openTransport, type Transport } from '../engine/index.ts'
import { type StatusServer, startStatusServer } from '../gateway/status.ts'
import { type IngestHandle, type IngestOptions, startIngest } from '../ingest/index.ts'
import { parseSpeed } from '../ingest/replay/cli.ts'
import { type ReplayServer, startReplayServer } from '../ingest/replay/index.ts'
import { platformTopology } from '../topologies/index.ts'

// The whole platform in one process: (replay server →) ingest → engine (platform topology) →
// status server. Embedded transport by default, so it needs no servers at all.

const log = createLogger('platform')

export interface Platform {
  replay?: ReplayServer
  transport: Transport
  ingest: IngestHandle
  streams: KafkaStreams
  status: StatusServer
  close(): Promise<void>
}

export async function startPlatform(
  config: Config = loadConfig(),
  ingestOptions: IngestOptions = {},
): Promise<Platform> {
  let replay: ReplayServer | undefined
  let urls = { binanceWsUrl: config.binanceWsUrl, binanceRestUrl: config.binanceRestUrl }
  if (config.source === 'replay') {
    replay = await startReplayServer({
      port: config.replayPort,
      symbols: config.symbols,
      speed: parseSpeed(config.replaySpeed),
      from: config.replayFrom,
    })
    urls = { binanceWsUrl: replay.wsUrl, binanceRestUrl: replay.restUrl }
    log.info('replay server', { ws: replay.wsUrl, rest: replay.restUrl, speed: config.replaySpeed })
  }
  const transport = await openTransport(config)
  const ingest = await startIngest({
    transport,
    config: { symbols: config.symbols, ...urls },
    options: ingestOptions,
  })
  const streams = new KafkaStreams(platformTopology(), {
    applicationId: 'crypto-streams',
    transport,
    stateDir: join(config.dataDir, 'state'),
  })
  await streams.start()
  let ingestReady = false
  void ingest.ready.then(() => {
    ingestReady = true
    log.info('ingest ready', { symbols: config.symbols.length })
  })
  const status = await startStatusServer(config.gatewayPort, {
    streams,
    symbols: config.symbols,
    ingestReady: () => ingestReady,
  })
  log.info('platform running', { status: status.url, transport: config.transport })
  return {
    replay,
    transport,
    ingest,
    streams,
    status,
    async close() {
      await status.close()
      await ingest.close()
      await streams.close()
      await transport.close()
      await replay?.close()
    },
  }
}
