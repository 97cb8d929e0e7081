import { existsSync } from 'node:fs'
import { ConfigError } from '../../common/errors.ts'
import { type CommandSpec, invalid, untilSignal } from './command.ts'
import { checkReplaySymbols } from './preflight.ts'

const nonNegative = (name: string) => (raw: string) => {
  const n = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0)
    throw invalid(`${name} must be a non-negative number, got "${raw}"`)
  return n
}
const rate = (raw: string) => {
  const n = Number(raw)
  if (raw.trim() === '' || !(n >= 0 && n <= 1)) throw invalid(`must be a probability 0..1, got "${raw}"`)
  return n
}

export const replay: CommandSpec = {
  name: 'replay',
  description:
    'the Binance-protocol replay server alone (WebSocket streams + REST), for any Binance client (ingest/replay/README.md)',
  options: [
    { flags: '--host <host>', description: 'interface to listen on', default: '127.0.0.1' },
    { flags: '--port <port>', setting: 'replayPort' },
    { flags: '--speed <speed>', setting: 'replaySpeed' },
    { flags: '--from <instant>', setting: 'replayFrom' },
    { flags: '--symbols <list>', setting: 'symbols' },
    {
      flags: '--seed <n>',
      description: 'seed of the trade and book synthesis',
      parse: nonNegative('--seed'),
    },
    {
      flags: '--trades-per-minute <n>',
      description: 'trades sent per symbol and minute at most (0 = no cap)',
      parse: nonNegative('--trades-per-minute'),
    },
    { flags: '--ping-ms <ms>', description: 'server ping period', parse: nonNegative('--ping-ms') },
    { flags: '--drop-rate <p>', description: 'fault: drop a connection per frame', parse: rate },
    { flags: '--junk-rate <p>', description: 'fault: send a malformed frame', parse: rate },
    { flags: '--gap-rate <p>', description: 'fault: skip depth update ids', parse: rate },
    { flags: '--rest-error-rate <p>', description: 'fault: answer REST with 5xx', parse: rate },
    {
      flags: '--weight-limit <n>',
      description: 'REST request weight per minute before 429 (Binance: 6000; default 6000 × speed)',
      parse: nonNegative('--weight-limit'),
    },
    {
      flags: '--tls',
      description: 'serve https:// and wss:// with a self-signed certificate',
      default: false,
    },
    {
      flags: '--tls-dir <dir>',
      description: 'where the certificate is kept (default ~/.cache/crypto-streams/replay-tls)',
    },
    {
      flags: '--data-dir <dir>',
      description: 'recorded Binance data to play (default: CS_BINANCE_DATA or the clone’s data/binance)',
    },
  ],
  async action({ config, options: o }) {
    await checkReplaySymbols(config.symbols, 'CS_SYMBOLS / --symbols')
    if (o.dataDir !== undefined && !existsSync(o.dataDir as string))
      throw new ConfigError('INVALID', `--data-dir: no such folder ${o.dataDir}`)
    const { startReplayServer } = await import('../../ingest/replay/index.ts')
    const speed = config.replaySpeed === 'max' ? 'max' : Number(config.replaySpeed)
    const server = await startReplayServer({
      host: o.host as string,
      port: config.replayPort,
      speed,
      from: config.replayFrom,
      symbols: config.symbols,
      seed: o.seed as number | undefined,
      tradesPerMinute: o.tradesPerMinute as number | undefined,
      pingMs: o.pingMs as number | undefined,
      dataDir: o.dataDir as string | undefined,
      weightLimit: o.weightLimit as number | undefined,
      tls: o.tls === true,
      tlsDir: o.tlsDir as string | undefined,
      faults: {
        dropRate: o.dropRate as number | undefined,
        junkRate: o.junkRate as number | undefined,
        gapRate: o.gapRate as number | undefined,
        restErrorRate: o.restErrorRate as number | undefined,
      },
    })
    process.stdout.write(
      `replay: ws ${server.wsUrl}  rest ${server.restUrl}  (from ${new Date(server.now()).toISOString()}, speed ${config.replaySpeed}, ${server.symbols.length} symbols)\n`,
    )
    if (server.certificate) process.stdout.write(`replay: TLS certificate ${server.certificate.path}\n`)
    await untilSignal()
    await server.close()
  },
}
