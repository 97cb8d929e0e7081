import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { io, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import { topics } from '../common/topics.ts'
import { type Platform, startPlatform } from '../scripts/platform.ts'
import { dropMongo, dropRedis } from '../sinks/dump.fixture.ts'
import { type Sinks, startSinks } from '../sinks/index.ts'
import { freePort } from '../test/servers.fixture.ts'
import { until } from '../test/until.ts'
import { alertSignals, dashboardQueries, INSTALL_TIMEOUT_MS, parseYaml, root, tool } from './tools.fixture.ts'

// Debian's Prometheus, on loopback, scrapes a running platform (embedded transport, replay
// server at 120×, its sinks on the test MongoDB and Redis). Every PromQL expression of the Grafana
// dashboard and every alert signal must return a series: no panel or alert refers to a metric
// that does not exist. What a healthy run never shows is made to happen for real: a connection
// drop and a sequence gap (reconnects, resyncs), a frame that is not JSON (ingest DLQ), a 1m kline
// far older than the stores keep (late drop), malformed records on the topics (engine and sink
// DLQs), a MongoDB that does not answer (sink errors).

const alertsFile = join(root, 'helm', 'crypto-streams', 'files', 'alerts.yml')
const dashboard = JSON.parse(
  readFileSync(join(root, 'helm', 'crypto-streams', 'files', 'dashboard.json'), 'utf8'),
)
const dir = mkdtempSync(join(tmpdir(), 'cs-scrape-'))
const run = `scrape${Date.now()}`
let platform: Platform | undefined
let deadMongo: Sinks | undefined
let socket: Socket | undefined
let prometheus: ChildProcess | undefined
let promUrl = ''
let cleanup = async () => {}

afterAll(async () => {
  socket?.close()
  prometheus?.kill('SIGTERM')
  await deadMongo?.close()
  await platform?.close()
  await cleanup()
  rmSync(dir, { recursive: true, force: true })
})

/** A GET that answers, or undefined while the server is not up yet. */
const get = (url: string) => fetch(url).catch(() => undefined)

async function query(expr: string): Promise<unknown[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)
  const body = (await res.json()) as { status: string; error?: string; data: { result: unknown[] } }
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`)
  return body.data.result
}

beforeAll(async () => {
  const prometheusBin = tool('prometheus')
  parseYaml('{}') // brings the YAML reader first when missing
  const config = loadConfig(process.env, {
    dataDir: join(dir, 'data'),
    symbols: ['BTCUSDT', 'ETHUSDT'],
    source: 'replay',
    transport: 'embedded',
    replayPort: 0,
    gatewayPort: 0,
    replaySpeed: '120',
    gatewayReader: 'stores',
    mongoDb: run,
  })
  cleanup = async () => {
    await dropMongo(config.mongoUrl, run)
    await dropRedis(config.redisUrl, `${run}:`)
  }
  // the platform's own sinks, on the test servers, with this test's key prefix and groups
  platform = await startPlatform(
    config,
    { initialMinutes: 120 }, // ≥ the 100 minutes of features a prediction needs (processors/features.ts LOOKBACK)
    { sinks: { mongo: true, redis: true }, sinkOptions: { keyPrefix: `${run}:`, groupPrefix: run } },
  )
  // a sink whose MongoDB does not answer: retried with backoff, counted in cs_sink_errors_total
  deadMongo = await startSinks({
    config: { ...config, mongoUrl: `mongodb://127.0.0.1:${await freePort()}/none` },
    transport: platform.transport,
    redis: false,
    groupPrefix: `${run}-dead`,
    mongoTimeoutMs: 200,
    backoff: { minMs: 100, maxMs: 500 },
  })
  const gateway = new URL(platform.gateway.url)

  const port = await freePort()
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: ['${alertsFile}']`,
      'scrape_configs:',
      '  - job_name: crypto-streams-platform',
      `    static_configs: [{ targets: ['${gateway.host}'] }]`,
    ].join('\n'),
  )
  prometheus = spawn(
    prometheusBin,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let log = ''
  prometheus.stderr?.on('data', (d) => {
    log = (log + d).slice(-4000)
  })
  promUrl = `http://127.0.0.1:${port}`
  await until('prometheus ready', async () => (await get(`${promUrl}/-/ready`))?.ok, 30_000, 250).catch(
    (e) => {
      throw new Error(`${(e as Error).message}\n${log}`)
    },
  )

  // what a quiet healthy run never shows, made to happen for real
  await until('ingest ready', async () => (await get(`${gateway.origin}/health`))?.ok, 60_000, 250)
  const replay = platform.replay!
  replay.sendJunk('not_json')
  await until(
    'the malformed frame in the ingest DLQ',
    async () =>
      (await (await fetch(`${gateway.origin}/metrics`)).text()).includes('cs_ingest_dead_letters_total{'),
    60_000,
    250,
  )
  replay.dropAll()
  replay.injectGap('BTCUSDT', 3)
  const old = Date.parse('2023-06-01T00:00:00Z')
  const late = {
    symbol: 'BTCUSDT',
    interval: '1m',
    openTime: old,
    closeTime: old + 59_999,
    open: '27000.00',
    high: '27000.00',
    low: '27000.00',
    close: '27000.00',
    volume: '1.0',
    quoteVolume: '27000.0',
    trades: 1,
    takerBuyBase: '0.5',
    takerBuyQuote: '13500.0',
    closed: true,
  }
  const producer = platform.transport.producer()
  await producer.send([
    { topic: topics.kline1m, key: 'BTCUSDT', value: JSON.stringify(late), timestamp: old },
    // malformed records: the engine and the Redis sink dead-letter the first, the MongoDB sink the second
    { topic: topics.kline1m, key: 'BTCUSDT', value: 'not json' },
    { topic: topics.kline5m, key: 'BTCUSDT', value: '{"symbol":1}' },
  ])
  await producer.close()
  // a Socket.IO client with a subscription, and REST calls on a few routes
  socket = io(gateway.origin, { transports: ['websocket'] })
  await new Promise<void>((resolve) =>
    socket!.emit('subscribe', { stream: 'kline', symbol: 'BTCUSDT' }, () => resolve()),
  )
  for (const path of ['/ohlc?symbol=BTCUSDT&interval=5m', '/latest?symbol=ETHUSDT', '/ohlc?symbol=NOPE'])
    await fetch(`${gateway.origin}${path}`)
}, INSTALL_TIMEOUT_MS)

describe('Prometheus scraping the running platform', () => {
  it('loads every alert rule of the chart', async () => {
    const [file] = parseYaml<{ groups: { rules: { alert: string }[] }[] }>(readFileSync(alertsFile, 'utf8'))
    const res = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string }[] }[] }
    }
    const loaded = res.data.groups.flatMap((g) => g.rules)
    expect(loaded.map((r) => r.name).sort()).toEqual(
      file!.groups
        .flatMap((g) => g.rules)
        .map((r) => r.alert)
        .sort(),
    )
  })

  it('every dashboard query and every alert signal returns a series', async () => {
    const [file] = parseYaml<{ groups: { rules: { alert: string; expr: string }[] }[] }>(
      readFileSync(alertsFile, 'utf8'),
    )
    const exprs = [
      ...dashboardQueries(dashboard).map((q) => ({ what: `panel "${q.panel}"`, expr: q.expr })),
      ...file!.groups
        .flatMap((g) => g.rules)
        .flatMap((r) => alertSignals(r.expr).map((expr) => ({ what: `alert ${r.alert}`, expr }))),
    ]
    const empty = new Map(exprs.map((e) => [e.expr, e.what]))
    // a few scrapes; the counters that move only on events, and the prediction scores, come later
    const deadline = Date.now() + 90_000
    while (empty.size > 0 && Date.now() < deadline) {
      for (const expr of [...empty.keys()]) if ((await query(expr)).length > 0) empty.delete(expr)
      if (empty.size > 0) await sleep(1000)
    }
    expect([...empty].map(([expr, what]) => `${what}: ${expr}`)).toEqual([])
    // the rules evaluate without error too
    const res = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] }
    }
    for (const r of res.data.groups.flatMap((g) => g.rules))
      expect(r.health, `${r.name} ${r.lastError}`).toBe('ok')
  }, 120_000)
})
