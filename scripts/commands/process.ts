import { join } from 'node:path'
import { type CommandSpec, untilSignal } from './command.ts'
import { checkKafka } from './preflight.ts'

// The process role: the platform topology (candles, rankings, indicators, predictions) over the raw
// topics, with its status server (health, metrics, interactive queries). Instances with the same
// config split the partitions (one consumer group, application id crypto-streams). Models come from
// crypto_models: with --train (default) this instance also trains when none is usable and daily
// (the train CronJob does the same; a second trainer only writes a newer version).
export const processRole: CommandSpec = {
  name: 'process',
  description:
    'the platform topology only (raw topics → candles, ranking, indicators, predictions) with its status server',
  options: [
    { flags: '--transport <kind>', setting: 'transport' },
    { flags: '--data-dir <dir>', setting: 'dataDir' },
    { flags: '--processing-guarantee <g>', setting: 'processingGuarantee' },
    { flags: '--port <port>', setting: 'gatewayPort' },
    { flags: '--symbols <list>', setting: 'symbols' },
    { flags: '--partitions <n>', setting: 'partitions' },
    {
      flags: '--no-train',
      description: 'only read models from crypto_models (trained elsewhere, e.g. the train CronJob)',
    },
  ],
  async action({ config, options, log }) {
    if (config.transport === 'embedded')
      log.warn(
        'process alone on the embedded log reads only what this machine’s ingest wrote there; for one process use `platform`',
      )
    await checkKafka(config)
    const { KafkaStreams, openTransport } = await import('../../engine/index.ts')
    const { platformTopology } = await import('../../topologies/index.ts')
    const { startStatusServer } = await import('../../gateway/status.ts')
    const { topicPartitions } = await import('../partitions.ts')
    const { startModelScheduler } = await import('../train.ts')
    const { ModelRegistry } = await import('../../processors/model-store.ts')
    const transport = await openTransport(config)
    const registry = new ModelRegistry()
    const models =
      options.train === false
        ? registry.watch(transport)
        : startModelScheduler({ transport, symbols: config.symbols, registry })
    const topology = platformTopology({
      rankingEveryMs: 1000,
      emitEveryMs: 100,
      predictions: { models: registry },
    })
    const streams = new KafkaStreams(topology, {
      applicationId: 'crypto-streams',
      transport,
      stateDir: join(config.dataDir, 'state'),
      processingGuarantee: config.processingGuarantee as 'at_least_once' | 'exactly_once', // validated by config
      // every topology here takes event time from values: outputs stamped on write keep backfills
      outputTimestampType: 'LogAppendTime',
      sinkPartitions: topicPartitions(config, options.partitions !== undefined),
    })
    try {
      await streams.start()
      const status = await startStatusServer(config.gatewayPort, {
        streams,
        symbols: config.symbols,
        ingestReady: () => true,
      })
      log.info('process running', { status: status.url, transport: config.transport })
      await untilSignal()
      log.info('stopping')
      await status.close()
    } finally {
      await streams.close()
      await models.stop()
      await transport.close()
    }
  },
}
