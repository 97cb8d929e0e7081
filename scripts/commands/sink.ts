import type { Config } from '../../common/config.ts'
import { type CommandSpec, optionalModule, untilSignal } from './command.ts'
import { checkKafka } from './preflight.ts'

// The sink role: derived topics → MongoDB and Redis. The implementation lives in sinks/ (wire
// the real entry point here when it changes).
type StartSinks = (config: Config) => Promise<{ close(): Promise<void> }>

export const sink: CommandSpec = {
  name: 'sink',
  description: 'sinks only: derived topics → MongoDB (MONGO_URL) and Redis (REDIS_URL)',
  options: [
    { flags: '--transport <kind>', setting: 'transport' },
    { flags: '--mongo-url <url>', setting: 'mongoUrl' },
    { flags: '--redis-url <url>', setting: 'redisUrl' },
  ],
  async action({ config, log }) {
    const startSinks = await optionalModule<StartSinks>('../../sinks/index.ts', 'sink', 'startSinks')
    await checkKafka(config)
    const sinks = await startSinks(config)
    await untilSignal()
    log.info('stopping')
    await sinks.close()
  },
}
