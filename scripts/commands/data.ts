import { type CommandSpec, optionalModule, utcDay } from './command.ts'

// `data fetch`: Binance's public daily kline archives → the recorded-data layout the replay
// server, tests and benches read (scripts/data-fetch.ts).
type FetchArchives = (o: {
  symbols: string[]
  intervals: string[]
  from: string
  to: string
  baseUrl: string
  out: string
  concurrency?: number
}) => Promise<{ downloaded: number; skipped: number; missing: string[] }>

const list = (raw: string) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

const fetchCommand: CommandSpec = {
  name: 'fetch',
  description: 'download data.binance.vision daily kline archives (checksums verified, resumable)',
  options: [
    { flags: '--symbols <list>', setting: 'symbols' },
    { flags: '--from <date>', description: 'first UTC day, YYYY-MM-DD', required: true, parse: utcDay },
    {
      flags: '--to <date>',
      description: 'last UTC day (inclusive), YYYY-MM-DD',
      required: true,
      parse: utcDay,
    },
    { flags: '--intervals <list>', description: 'kline intervals, comma separated', default: '1m' },
    { flags: '--base-url <url>', description: 'archive host', default: 'https://data.binance.vision' },
    {
      flags: '--out <dir>',
      description: 'data folder to fill (default: CS_BINANCE_DATA or the clone’s data/binance)',
    },
  ],
  async action({ config, options: o }) {
    const fetchArchives = await optionalModule<FetchArchives>(
      '../data-fetch.ts',
      'data fetch',
      'fetchArchives',
    )
    const { binanceDataDir } = await import('../../common/data.ts')
    const r = await fetchArchives({
      symbols: config.symbols,
      intervals: list(String(o.intervals)),
      from: o.from as string,
      to: o.to as string,
      baseUrl: String(o.baseUrl),
      out: (o.out as string | undefined) ?? binanceDataDir(),
    })
    process.stdout.write(`${JSON.stringify(r)}\n`)
  },
}

export const data: CommandSpec = {
  name: 'data',
  description: 'recorded market data: `data fetch` downloads Binance archives',
  subcommands: [fetchCommand],
}
