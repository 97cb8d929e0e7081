import type { Config } from '../../common/config.ts'
import type { Transport } from '../../engine/transport.ts'
import { type CommandSpec, optionalModule, untilSignal } from './command.ts'
import { checkKafka } from './preflight.ts'

// The sink role: derived topics → MongoDB and Redis (sinks/README.md). Instances with the same
// config split the partitions (consumer groups crypto-streams-sink-mongo / -redis).
type StartSinks = (opts: { config: Config; transport: Transport }) => Promise<{ close(): Promise<void> }>

export const sink: CommandSpec = {
  name: 'sink',
  description: 'sinks only: derived topics → MongoDB (MONGO_URL, MONGO_DB) and Redis (REDIS_URL)',
  options: [
    { flags: '--transport <kind>', setting: 'transport' },
    { flags: '--data-dir <dir>', setting: 'dataDir' },
    { flags: '--mongo-url <url>', setting: 'mongoUrl' },
    { flags: '--mongo-db <name>', setting: 'mongoDb' },
    { flags: '--redis-url <url>', setting: 'redisUrl' },
    { flags: '--port <port>', setting: 'gatewayPort' },
  ],
  async action({ config, log }) {
    const startSinks = await optionalModule<StartSinks>('../../sinks/index.ts', 'sink', 'startSinks')
    if (config.transport === 'embedded')
      log.warn(
        'sink alone on the embedded log reads only what this machine’s engine wrote there; for one process use `platform`',
      )
    await checkKafka(config)
    const { openTransport } = await import('../../engine/index.ts')
    const transport = await openTransport(config, 'crypto-streams-sink')
    try {
      const sinks = await startSinks({ config, transport })
      // health = the role is up; a server that is away shows in cs_sink_errors_total and its alert
      const { startRoleServer } = await import('../../gateway/role-server.ts')
      const http = await startRoleServer({
        role: 'sink',
        port: config.gatewayPort,
        checks: { sinks: () => ({ ok: true, detail: 'running' }) },
      })
      log.info('sink running', { health: `${http.url}/health`, metrics: `${http.url}/metrics` })
      await untilSignal()
      log.info('stopping')
      await http.close()
      await sinks.close()
    } finally {
      await transport.close()
    }
  },
}
