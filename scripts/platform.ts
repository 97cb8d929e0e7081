import { join } from 'node:path'
import { type Config, isSet, loadConfig } from '../common/config.ts'
import { createLogger } from '../common/log.ts'
import { KafkaStreams, openTransport, type Transport } from '../engine/index.ts'
import { type Gateway, openReader, startGateway } from '../gateway/server.ts'
import { createIngestTopics, type IngestHandle, type IngestOptions, startIngest } from '../ingest/index.ts'
import { parseSpeed } from '../ingest/replay/cli.ts'
import { type ReplayServer, startReplayServer } from '../ingest/replay/index.ts'
import type { Sinks, SinksOptions } from '../sinks/index.ts'
import { platformTopology } from '../topologies/index.ts'
import { topicPartitions } from './partitions.ts'
import { startModelScheduler } from './train.ts'

// The whole platform in one process: (replay server →) ingest → engine (platform topology) →
// (sinks →) gateway (REST, Socket.IO, WebSocket, dashboard). Embedded transport by default, so it
// needs no servers at all; the sinks run only when MONGO_URL / REDIS_URL are set in the environment.

const log = createLogger('platform')

export interface Platform {
  replay?: ReplayServer
  transport: Transport
  ingest: IngestHandle
  streams: KafkaStreams
  /** MongoDB / Redis sinks, when configured (`sinksWanted`). */
  sinks?: Sinks
  gateway: Gateway
  close(): Promise<void>
}

export interface PlatformOptions {
  /** Engine application id (consumer group, changelog topics); default `crypto-streams`. */
  applicationId?: string
  /** Which sinks run; default `sinksWanted(env)`. */
  sinks?: { mongo: boolean; redis: boolean }
  /** Passed to startSinks and the gateway's sinks reader (tests: own key prefix, own groups). */
  sinkOptions?: Pick<SinksOptions, 'keyPrefix' | 'groupPrefix' | 'backoff' | 'mongoTimeoutMs'>
  /** Partitions of the topics it creates; default `topicPartitions(config)`. */
  partitions?: number
  env?: NodeJS.ProcessEnv
  /**
   * Aborts the start-up (a SIGTERM before the platform runs): the step under way finishes or its
   * wait is cut short, what was started is closed, and startPlatform rejects with the abort reason.
   */
  signal?: AbortSignal
}

/** Sinks run only when their server is configured explicitly (variable or alias), never on defaults. */
export const sinksWanted = (env: NodeJS.ProcessEnv = process.env) => ({
  mongo: isSet('mongoUrl', env),
  redis: isSet('redisUrl', env),
})

export async function startPlatform(
  config: Config = loadConfig(),
  ingestOptions: IngestOptions = {},
  options: PlatformOptions = {},
): Promise<Platform> {
  const env = options.env ?? process.env
  const partitions = options.partitions ?? topicPartitions(config, false, env)
  // Parts started so far, stopped in reverse order on close or when a later step fails.
  const stops: (() => Promise<void>)[] = []
  const close = async () => {
    while (stops.length > 0) await stops.pop()!()
  }
  const signal = options.signal
  // checked after each step: a step under way is not interrupted, its stop is registered first
  const check = () => signal?.throwIfAborted()
  try {
    check()
    let replay: ReplayServer | undefined
    let urls = { binanceWsUrl: config.binanceWsUrl, binanceRestUrl: config.binanceRestUrl }
    if (config.source === 'replay') {
      const server = await startReplayServer({
        port: config.replayPort,
        symbols: config.symbols,
        speed: parseSpeed(config.replaySpeed),
        from: config.replayFrom,
      })
      stops.push(() => server.close())
      replay = server
      urls = { binanceWsUrl: server.wsUrl, binanceRestUrl: server.restUrl }
      log.info('replay server', { ws: server.wsUrl, rest: server.restUrl, speed: config.replaySpeed })
      check()
    }
    const transport = await openTransport(config)
    stops.push(() => transport.close())
    check()
    // Models: trained at start when none is usable (from the topic, or the recorded files before
    // the replay's start while the topic is still short), retrained daily in event time.
    const models = startModelScheduler({
      transport,
      symbols: config.symbols,
      ...(config.source === 'replay' ? { csvFallbackTo: dayBefore(config.replayFrom) } : {}),
    })
    const stopModels = once(() => models.stop())
    stops.push(stopModels)
    // every symbol ranked: the dashboard's markets table and ticker bar read each one's 24 h change
    const topology = platformTopology({
      rankingEveryMs: 1000,
      emitEveryMs: 100, // live candle updates coalesced per window to one per 100 ms (a catch-up burst writes ~10x fewer)
      serving: true,
      top: Number.POSITIVE_INFINITY,
      predictions: { models: models.registry },
    })
    const streams = new KafkaStreams(topology, {
      applicationId: options.applicationId ?? 'crypto-streams',
      transport,
      stateDir: join(config.dataDir, 'state'),
      processingGuarantee: config.processingGuarantee as 'at_least_once' | 'exactly_once', // validated by config
      // every topology here takes event time from values: outputs stamped on write keep backfills
      outputTimestampType: 'LogAppendTime',
      sinkPartitions: partitions,
    })
    // The engine first, with the raw topics ingest would create: its tasks open (and restore) their
    // stores before ingest writes. Opened while ingest appended at 600× (an fsync per batch), the
    // 20 stores' own fsyncs queued behind those: a first start took 20-40 s before the engine
    // processed anything, with the replay clock running on, and a SIGTERM meanwhile waited for
    // the opening to finish (past the 30 s stop bound).
    await createIngestTopics(transport, partitions)
    check()
    await streams.start()
    const stopStreams = once(() => streams.close())
    stops.push(stopStreams)
    // the longest wait of the start-up (the tasks open their stores): a signal cuts it short, and
    // the engine's close then waits only for the stores being opened
    await untilAborted(
      streams.flush(TASKS_OPEN_WAIT_MS).catch((e: Error) => {
        // a restart with a long backlog: ingest starts anyway, the engine catches up while it runs
        if (!signal?.aborted) log.info('engine still catching up; starting ingest', { reason: e.message })
      }),
      signal,
    )
    check()
    const ingest = await startIngest({
      transport,
      config: { symbols: config.symbols, ...urls },
      options: { partitions, ...ingestOptions },
    })
    // On close, ingest, the engine and the model scheduler stop together: each waits on its own
    // fsyncs (ingest's last appends, the engine's final commit and 20 stores, a training run), and
    // one after the other they took 20-30 s on a busy disk (the 30 s stop bound). The engine's
    // final commit covers what it processed; what ingest appended meanwhile is processed next start.
    stops.push(async () => {
      await Promise.all([ingest.close(), stopStreams(), stopModels()])
    })
    check()
    // after the engine: on Kafka the sinks subscribe only to topics that exist
    let sinks: Sinks | undefined
    const wanted = options.sinks ?? sinksWanted(env)
    if (wanted.mongo || wanted.redis) {
      // loaded only when wanted: the MongoDB and Redis clients are ~20 MB of RSS
      const { startSinks } = await import('../sinks/index.ts')
      const started = await startSinks({ config, transport, ...wanted, ...options.sinkOptions })
      stops.push(() => started.close())
      sinks = started
      check()
    }
    let ingestReady = false
    void ingest.ready.then(() => {
      ingestReady = true
      log.info('ingest ready', { symbols: config.symbols.length })
    })
    const gateway = await startGateway({
      port: config.gatewayPort,
      symbols: config.symbols,
      reader: await openReader(streams, config, env, { keyPrefix: options.sinkOptions?.keyPrefix }),
      transport,
      exchangeInfoUrl: urls.binanceRestUrl,
      corsOrigins: config.corsOrigins,
      checks: {
        ingest: () => ({ ok: ingestReady, detail: ingestReady ? 'ready' : 'catching up' }),
        // the dashboard shows the replay speed it reads here
        ...(replay ? { replay: () => ({ ok: true, detail: `speed ${config.replaySpeed}` }) } : {}),
      },
    })
    stops.push(() => gateway.close())
    check()
    log.info('platform running', {
      gateway: gateway.url,
      transport: config.transport,
      sinks: sinks ? Object.keys(wanted).filter((k) => wanted[k as keyof typeof wanted]) : 'none',
    })
    return { replay, transport, ingest, streams, sinks, gateway, close }
  } catch (e) {
    await close()
    throw e
  }
}

/** How long the start waits for the engine to open its tasks and process what its inputs hold. */
const TASKS_OPEN_WAIT_MS = 30_000

/** Resolves when `p` settles or `signal` aborts, whichever comes first. */
function untilAborted(p: Promise<unknown>, signal: AbortSignal | undefined): Promise<unknown> {
  if (!signal) return p
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done)
      resolve(undefined)
    }
    signal.addEventListener('abort', done)
    p.then(done, done)
  })
}

/** `f` called once; later calls return its first promise. */
function once(f: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined
  return () => {
    p ??= f()
    return p
  }
}

const dayBefore = (iso: string): string => new Date(Date.parse(iso) - 86_400_000).toISOString().slice(0, 10)
