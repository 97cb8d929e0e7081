import { flushCompileCache } from 'node:module'
import { StreamsError } from '../../common/errors.ts'
import type { Platform } from '../platform.ts'
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
    // The stop handler next, before anything opens: a SIGTERM during start-up (stores opening,
    // ingest's backfill) aborts it and closes what was opened, within the same bound.
    const abort = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const signalled = untilSignal().then(() => {
      log.info('stopping', { timeoutMs: STOP_TIMEOUT_MS })
      timer = setTimeout(() => {
        log.error('clean stop took too long: exiting without it', { timeoutMs: STOP_TIMEOUT_MS })
        process.exit(1)
      }, STOP_TIMEOUT_MS)
      timer.unref()
      abort.abort(new StreamsError('CONFIG', 'STOPPED', 'stopped by a signal during start-up'))
    })
    let p: Platform
    try {
      const { topicPartitions } = await import('../partitions.ts')
      const config = options.live ? { ...base, source: 'binance' as const } : base
      if (config.source === 'replay') await checkReplaySymbols(config.symbols)
      await checkBinance(config)
      await checkKafka(config)
      abort.signal.throwIfAborted()
      const { startPlatform } = await import('../platform.ts')
      p = await startPlatform(
        config,
        {},
        { partitions: topicPartitions(config, options.partitions !== undefined), signal: abort.signal },
      )
    } catch (e) {
      if (!abort.signal.aborted) throw e
      // startPlatform closed what it had started
      if (e !== abort.signal.reason) log.warn('start-up failed while stopping', { err: e })
      clearTimeout(timer)
      log.info('stopped during start-up')
      return
    }
    const { startStatusLine } = await import('../status.ts')
    const sinkNodes = new Set(
      p.streams
        .describe()
        .subtopologies.flatMap((s) => s.nodes.filter((n) => n.kind === 'sink').map((n) => n.name)),
    )
    process.stdout.write(`dashboard: ${p.gateway.url}/\n`)
    // Every module is loaded: the compile cache (platform-flags.ts) is written now rather than only
    // at exit, so the next run starts without the TypeScript stripper even if this one is killed.
    flushCompileCache()
    const status = startStatusLine({
      everyMs: STATUS_EVERY_MS,
      symbols: base.symbols.length,
      sinkNodes,
      ...(p.replay ? { clock: () => p.replay!.now() } : {}),
      write: (line) => process.stdout.write(`${line}\n`),
    })
    await signalled
    status.stop()
    await p.close()
    clearTimeout(timer)
    log.info('stopped')
  },
}
