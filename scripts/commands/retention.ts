import type { Config } from '../../common/config.ts'
import { type CommandSpec, optionalModule } from './command.ts'

// The retention job: removes data older than the configured ages from MongoDB, Redis and the
// embedded log. Wire the real entry point here when it lands.
type Retention = (config: Config, options: { dryRun: boolean }) => Promise<unknown>

export const retention: CommandSpec = {
  name: 'retention',
  description: 'delete data older than the configured retention from MongoDB, Redis and the embedded log',
  options: [
    { flags: '--dry-run', description: 'report what would be deleted, delete nothing', default: false },
  ],
  async action({ config, options }) {
    const run = await optionalModule<Retention>('../retention.ts', 'retention', 'retention')
    const result = await run(config, { dryRun: options.dryRun === true })
    if (result !== undefined) process.stdout.write(`${JSON.stringify(result)}\n`)
  },
}
