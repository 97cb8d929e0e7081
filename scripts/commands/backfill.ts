import { type CommandSpec, utcDay } from './command.ts'
import { checkKafka } from './preflight.ts'

export const backfill: CommandSpec = {
  name: 'backfill',
  description:
    'rebuild candle finals (5m/1h/4h/1d) and indicators for one symbol and a UTC date range (topologies/README.md)',
  options: [
    { flags: '--symbol <symbol>', description: 'symbol, e.g. BTCUSDT', required: true },
    { flags: '--from <date>', description: 'first UTC day, YYYY-MM-DD', required: true, parse: utcDay },
    {
      flags: '--to <date>',
      description: 'last UTC day (inclusive), YYYY-MM-DD',
      required: true,
      parse: utcDay,
    },
    {
      flags: '--source <source>',
      description: 'read 1m klines from the raw topic or the recorded CSV files',
      default: 'topic',
      choices: ['topic', 'csv'],
    },
    { flags: '--write-raw', description: 'with --source csv: also produce the 1m klines', default: false },
    { flags: '--topic-prefix <prefix>', description: 'prefix of every topic read and written', default: '' },
    { flags: '--transport <kind>', setting: 'transport' },
  ],
  async action({ config, options: o, log }) {
    await checkKafka(config)
    const { backfill: run } = await import('../backfill.ts')
    const { openTransport } = await import('../../engine/open.ts')
    const transport = await openTransport(config)
    try {
      const counts = await run(
        {
          symbol: String(o.symbol).toUpperCase(),
          from: o.from as string,
          to: o.to as string,
          source: o.source as 'topic' | 'csv',
          writeRaw: o.writeRaw === true,
          topicPrefix: o.topicPrefix as string,
        },
        transport,
      )
      process.stdout.write(`${JSON.stringify(counts)}\n`)
      if (Object.values(counts).every((n) => n === 0))
        log.warn('nothing to backfill: no 1m klines for this symbol and range', {
          symbol: o.symbol,
          from: o.from,
          to: o.to,
          source: o.source === 'csv' ? 'recorded CSV files (CS_BINANCE_DATA)' : 'topic crypto_kline_1m',
        })
    } finally {
      await transport.close()
    }
  },
}
