import type { Config } from '../../common/config.ts'
import { ConfigError } from '../../common/errors.ts'
import type { RetentionOptions } from '../retention.ts'
import { type CommandSpec, invalid, optionalModule } from './command.ts'

// The retention job: removes data older than the configured ages from MongoDB, Redis and the
// embedded log (scripts/retention.ts says what each age covers).
type Retention = (config: Config, options: RetentionOptions) => Promise<unknown>

const positive = (what: string) => (raw: string) => {
  const n = Number(raw)
  if (!(n > 0)) throw invalid(`${what} must be a number > 0, got "${raw}"`)
  return n
}

export const retention: CommandSpec = {
  name: 'retention',
  description: 'delete data older than the configured retention from MongoDB, Redis and the embedded log',
  options: [
    { flags: '--dry-run', description: 'report what would be deleted, delete nothing', default: false },
    {
      flags: '--mongo-days <spec>',
      description:
        'age per MongoDB collection in days, <collection>=<days>,…; collections not named are kept',
      default: '5m_kline=90,1h_kline=730,predictions=30',
    },
    {
      flags: '--redis-hours <n>',
      description: 'Redis 1m minutes and trades older than this go (default: REDIS_TTL_SECONDS)',
      parse: positive('--redis-hours'),
    },
    {
      flags: '--log-days <n>',
      description: 'embedded log segments last written before this go',
      default: '7',
    },
  ],
  async action({ config, options }) {
    const { parseMongoDays } = await import('../retention.ts')
    const mongoDays = parseMongoDays(String(options.mongoDays)) // a ConfigError: one line, exit 2
    const logDays = Number(options.logDays)
    if (!(logDays > 0))
      throw new ConfigError('INVALID', `retention: --log-days must be a number > 0, got "${options.logDays}"`)
    const run = await optionalModule<Retention>('../retention.ts', 'retention', 'retention')
    const result = await run(config, {
      dryRun: options.dryRun === true,
      mongoDays,
      logDays,
      ...(options.redisHours !== undefined ? { redisHours: Number(options.redisHours) } : {}),
    })
    if (result !== undefined) process.stdout.write(`${JSON.stringify(result)}\n`)
  },
}
