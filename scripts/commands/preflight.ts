import { type Config, nearest } from '../../common/config.ts'
import { ConfigError, StreamsError } from '../../common/errors.ts'

// Checks run before a role starts, so a missing server or a wrong symbol is one clear line
// naming what to do, within seconds, instead of a retry loop or a stack trace.

const KAFKA_PROBE_MS = 10_000
const BINANCE_PROBE_MS = 10_000

/** The innermost reason of an error chain (`cause`, or the first of `errors`), e.g. ECONNREFUSED. */
export function rootCause(e: unknown): string {
  let cur = e as { message?: string; cause?: unknown; errors?: unknown[] } | undefined
  while (cur && typeof cur === 'object') {
    const next = cur.cause ?? cur.errors?.[0]
    if (!next || typeof next !== 'object') break
    cur = next as typeof cur
  }
  return cur?.message ?? String(e)
}

/** With CS_TRANSPORT=kafka: the brokers answer a metadata request within 10 s. */
export async function checkKafka(config: Pick<Config, 'transport' | 'kafkaBrokers'>): Promise<void> {
  if (config.transport !== 'kafka') return
  const { waitForKafka } = await import('../../common/connect.ts')
  const address = config.kafkaBrokers.join(',')
  try {
    await waitForKafka(config.kafkaBrokers, KAFKA_PROBE_MS)
  } catch (e) {
    throw new StreamsError(
      'SERVICE',
      'KAFKA_UNREACHABLE',
      `Kafka is not reachable at ${address} (KAFKA_BROKERS: ${rootCause(e)}): start a local broker with ` +
        '`npm run services -- start kafka`, point KAFKA_BROKERS at a running cluster, or run ' +
        'without Kafka with CS_TRANSPORT=embedded',
      { cause: e },
    )
  }
}

/** With CS_SOURCE=binance: Binance's REST base answers /api/v3/ping within 10 s. */
export async function checkBinance(config: Pick<Config, 'source' | 'binanceRestUrl'>): Promise<void> {
  if (config.source !== 'binance') return
  const url = `${config.binanceRestUrl.replace(/\/$/, '')}/api/v3/ping`
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(BINANCE_PROBE_MS) })
    if (res.ok) return
    throw new Error(`HTTP ${res.status}`)
  } catch (e) {
    const why =
      (e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message
    throw new StreamsError(
      'INGEST',
      'BINANCE_UNREACHABLE',
      `Binance is not reachable at ${config.binanceRestUrl} (BINANCE_REST_URL: ${why}); live mode ` +
        '(CS_SOURCE=binance) needs access to Binance. Set CS_SOURCE=replay to play recorded market ' +
        'data from the local replay server instead',
      { cause: e },
    )
  }
}

/** With CS_SOURCE=replay: every symbol is one the replay server serves. */
export async function checkReplaySymbols(symbols: string[], setting = 'CS_SYMBOLS'): Promise<void> {
  const { SYMBOLS } = await import('../../ingest/replay/symbols.ts')
  const served = SYMBOLS.map((s) => s.symbol)
  const unknown = symbols.map((s) => s.toUpperCase()).filter((s) => !served.includes(s))
  if (unknown.length > 0) {
    const guesses = unknown.flatMap((u) => {
      const near = nearest(u, served)
      return near ? [`${u}: did you mean ${near}?`] : []
    })
    throw new ConfigError(
      'INVALID',
      `${setting}: unknown symbol${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}` +
        `${guesses.length > 0 ? ` (${guesses.join(' ')})` : ''}; the replay server serves ${served.join(', ')}`,
    )
  }
}
