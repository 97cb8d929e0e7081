import { type CommandSpec, invalid, utcDay } from './command.ts'
import { checkKafka } from './preflight.ts'

// The training job: fits the 5-minute forecast models (one per symbol plus a pooled fallback) on
// history and publishes a new version to the compacted crypto_models topic (scripts/train.ts).

const positiveInt = (raw: string) => {
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw invalid(`must be a whole number ≥ 1, got "${raw}"`)
  return n
}

export const train: CommandSpec = {
  name: 'train',
  description: 'train the 5-minute price model on history and store a new model version',
  options: [
    { flags: '--symbols <list>', setting: 'symbols' },
    { flags: '--days <n>', description: 'training window in days', default: '30', parse: positiveInt },
    {
      flags: '--source <source>',
      description: 'history: closed klines of crypto_kline_1m, or the recorded CSV files',
      default: 'csv',
      choices: ['csv', 'topic'],
    },
    {
      flags: '--to <date>',
      description: 'csv: last UTC day of the window (default: newest recorded)',
      parse: utcDay,
    },
    { flags: '--topic-prefix <prefix>', description: 'prefix of every topic read and written', default: '' },
    { flags: '--transport <kind>', setting: 'transport' },
  ],
  async action({ config, options: o }) {
    await checkKafka(config)
    const { printTrainResult, trainModels } = await import('../train.ts')
    const { openTransport } = await import('../../engine/open.ts')
    const transport = await openTransport(config)
    try {
      const result = await trainModels({
        symbols: config.symbols,
        days: Number(o.days),
        source: o.source as 'csv' | 'topic',
        ...(o.to ? { to: o.to as string } : {}),
        topicPrefix: o.topicPrefix as string,
        transport,
      })
      printTrainResult(result)
    } finally {
      await transport.close()
    }
  },
}
