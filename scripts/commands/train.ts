import type { Config } from '../../common/config.ts'
import { type CommandSpec, invalid, optionalModule } from './command.ts'

// The training job: fits the 5-minute forecast model on history and stores a new version. The
// implementation lives in predict/ (wire the real entry point here when it changes).
type Train = (config: Config, options: { days: number }) => Promise<unknown>

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
    { flags: '--transport <kind>', setting: 'transport' },
  ],
  async action({ config, options }) {
    const run = await optionalModule<Train>('../../predict/index.ts', 'train', 'train')
    const result = await run(config, { days: Number(options.days) })
    if (result !== undefined) process.stdout.write(`${JSON.stringify(result)}\n`)
  },
}
