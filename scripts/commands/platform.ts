import { type CommandSpec, untilSignal } from './command.ts'
import { relaunchWithPlatformFlags } from './platform-flags.ts'
import { checkBinance, checkKafka, checkReplaySymbols } from './preflight.ts'

/** A clean stop (flush, commit, close stores) that takes longer than this exits with code 1. */
export const STOP_TIMEOUT_MS = 30_000
const STATUS_EVERY_MS = 5_000

export const platform: CommandSpec = {
  name: 'platform',
  description:
    'the whole platform in one process: replay server (CS_SOURCE=replay) → ingest → engine → sinks (when MONGO_URL / REDIS_URL are set) → gateway and dashboard (what `npm start` runs)',
  options: [
    { flags: '--transport <kind>', setting: 'transport' },
    { flags: '--source <source>', setting: 'source' },
    { flags: '--live', description: "Binance's real endpoints (same as --source binance)" },
    { flags: '--symbols <list>', setting: 'symbols' },
    { flags: '--port <port>', setting: 'gatewayPort' },
    { flags: '--speed <speed>', setting: 'replaySpeed' },
    { flags: '--from <instant>', setting: 'replayFrom' },
    { flags: '--data-dir <dir>', setting: 'dataDir' },
    { flags: '--processing-guarantee <g>', setting: 'processingGuarantee' },
    { flags: '--partitions <n>', setting: 'partitions' },
  ],
  async action({ config: base, options, log }) {
    relaunchWithPlatformFlags() // first: V8's heap limits are fixed when the process starts
    const { topicPartitions } = await import('../partitions.ts')
    const config = options.live ? { ...base, source: 'binance' as const } : base
    if (config.source === 'replay') await checkReplaySymbols(config.symbols)
    await checkBinance(config)
    await checkKafka(config)
    const { startPlatform } = await import('../platform.ts')
    const { startStatusLine } = await import('../status.ts')
    const p = await startPlatform(
      config,
      {},
      { partitions: topicPartitions(config, options.partitions !== undefined) },
    )
    const sinkNodes = new Set(
      p.streams
        .describe()
        .subtopologies.flatMap((s) => s.nodes.filter((n) => n.kind === 'sink').map((n) => n.name)),
    )
    process.stdout.write(`dashboard: ${p.gateway.url}/\n`)
    const status = startStatusLine({
      everyMs: STATUS_EVERY_MS,
      symbols: config.symbols.length,
      sinkNodes,
      ...(p.replay ? { clock: () => p.replay!.now() } : {}),
      write: (line) => process.stdout.write(`${line}\n`),
    })
    await untilSignal()
    status.stop()
    log.info('stopping', { timeoutMs: STOP_TIMEOUT_MS })
    const timer = setTimeout(() => {
      log.error('clean stop took too long: exiting without it', { timeoutMs: STOP_TIMEOUT_MS })
      process.exit(1)
    }, STOP_TIMEOUT_MS)
    timer.unref()
    await p.close()
    clearTimeout(timer)
    log.info('stopped')
  },
}
