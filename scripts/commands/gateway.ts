import type { Config } from '../../common/config.ts'
import { type CommandSpec, optionalModule, untilSignal } from './command.ts'

// The gateway role: REST + Socket.IO + dashboard on CS_GATEWAY_PORT. The implementation lives in
// gateway/role.ts: the sinks reader (MongoDB + Redis) and live updates from the transport.
type StartGateway = (config: Config) => Promise<{ url?: string; close(): Promise<void> }>

export const gateway: CommandSpec = {
  name: 'gateway',
  description: 'the gateway only: REST + Socket.IO + dashboard, reading MongoDB and Redis',
  options: [
    { flags: '--port <port>', setting: 'gatewayPort' },
    { flags: '--mongo-url <url>', setting: 'mongoUrl' },
    { flags: '--redis-url <url>', setting: 'redisUrl' },
  ],
  async action({ config, log }) {
    const startGateway = await optionalModule<StartGateway>(
      '../../gateway/index.ts',
      'gateway',
      'startGatewayRole',
    )
    const g = await startGateway(config)
    log.info('gateway running', { url: g.url })
    await untilSignal()
    log.info('stopping')
    await g.close()
  },
}
