import { parseArgs } from 'node:util'
import { loadConfig } from '../../common/config.ts'
import type { Speed } from './clock.ts'
import { startReplayServer } from './server.ts'

// `replay` command: start the server, print its URLs, run until SIGINT/SIGTERM.
// Defaults come from the config (CS_REPLAY_PORT 9443, CS_REPLAY_SPEED 60, CS_SYMBOLS).

const USAGE = `usage: replay [--host 127.0.0.1] [--port 9443] [--speed 1|60|max] [--from 2024-01-02T00:00:00Z]
              [--symbols BTCUSDT,ETHUSDT] [--seed 1] [--trades-per-minute 100] [--ping-ms 20000]
              [--drop-rate 0] [--junk-rate 0] [--gap-rate 0] [--rest-error-rate 0] [--data-dir DIR]
              [--weight-limit 6000] [--tls] [--tls-dir DIR]`

const num = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`--${name} must be a non-negative number, got "${v}"\n${USAGE}`)
  return n
}

export function parseSpeed(raw: string): Speed {
  if (raw === 'max') return 'max'
  const n = Number(raw)
  if (!(n > 0)) throw new Error(`--speed must be a positive number or "max", got "${raw}"`)
  return n
}

export async function replayCommand(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      speed: { type: 'string' },
      from: { type: 'string' },
      symbols: { type: 'string' },
      seed: { type: 'string' },
      'trades-per-minute': { type: 'string' },
      'ping-ms': { type: 'string' },
      'drop-rate': { type: 'string' },
      'junk-rate': { type: 'string' },
      'gap-rate': { type: 'string' },
      'rest-error-rate': { type: 'string' },
      'data-dir': { type: 'string' },
      'weight-limit': { type: 'string' },
      tls: { type: 'boolean' },
      'tls-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  })
  if (v.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const config = loadConfig()
  const server = await startReplayServer({
    host: v.host ?? '127.0.0.1',
    port: num('port', v.port) ?? config.replayPort,
    speed: parseSpeed(v.speed ?? config.replaySpeed),
    from: v.from ?? ('replayFrom' in config ? String(config.replayFrom) : undefined),
    symbols: v.symbols ? v.symbols.split(',').map((s) => s.trim()) : config.symbols,
    seed: num('seed', v.seed),
    tradesPerMinute: num('trades-per-minute', v['trades-per-minute']),
    pingMs: num('ping-ms', v['ping-ms']),
    dataDir: v['data-dir'],
    weightLimit: num('weight-limit', v['weight-limit']),
    tls: v.tls,
    tlsDir: v['tls-dir'],
    faults: {
      dropRate: num('drop-rate', v['drop-rate']),
      junkRate: num('junk-rate', v['junk-rate']),
      gapRate: num('gap-rate', v['gap-rate']),
      restErrorRate: num('rest-error-rate', v['rest-error-rate']),
    },
  })
  process.stdout.write(
    `replay: ws ${server.wsUrl}  rest ${server.restUrl}  (from ${new Date(server.now()).toISOString()}, speed ${v.speed ?? config.replaySpeed}, ${server.symbols.length} symbols)\n`,
  )
  if (server.certificate?.path)
    process.stdout.write(`replay: self-signed certificate ${server.certificate.path}\n`)
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await server.close()
}

if (import.meta.main) await replayCommand(process.argv.slice(2))
