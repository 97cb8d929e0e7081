import { type Config, loadConfig } from '../common/config.ts'
import { openTransport } from '../engine/index.ts'
import { type Gateway, openReader, startGateway } from './server.ts'

// The gateway as its own process (`node scripts/cli.ts gateway`): reads what the sinks wrote
// (MongoDB + Redis) and follows the output topics on the configured transport for live updates.

export async function startGatewayRole(config: Config = loadConfig()): Promise<Gateway> {
  const reader = await openReader(undefined, { ...config, gatewayReader: 'sinks' })
  const transport = await openTransport(config)
  try {
    const g = await startGateway({
      port: config.gatewayPort,
      host: '0.0.0.0',
      symbols: config.symbols,
      reader,
      transport,
      // tick/step sizes: Binance's exchangeInfo, or the replay server's on this machine (best effort)
      exchangeInfoUrl:
        config.source === 'binance' ? config.binanceRestUrl : `http://127.0.0.1:${config.replayPort}`,
      corsOrigins: config.corsOrigins,
    })
    return {
      ...g,
      async close() {
        await g.close()
        await transport.close()
      },
    }
  } catch (e) {
    await reader.close()
    await transport.close()
    throw e
  }
}
