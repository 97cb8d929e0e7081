import { describe, expect, it } from 'vitest'
import { loadConfig } from '../common/config.ts'
import { tempDirs } from '../test/tmpdirs.ts'
import { startGatewayRole } from './role.ts'

// The gateway as its own process (`cli.ts gateway`): the sinks reader on the real Redis and
// FerretDB, the live feed on the configured transport, every dependency healthy.

const tmp = tempDirs('cs-gateway-role-')

describe('gateway role', () => {
  it('starts on the sinks reader and reports MongoDB, Redis and the feed', async () => {
    const config = loadConfig(process.env, {
      transport: 'embedded',
      dataDir: tmp(),
      gatewayPort: 0,
      symbols: ['BTCUSDT'],
      mongoDb: `gateway_role_${process.pid}`,
    })
    const g = await startGatewayRole(config)
    try {
      const h = await fetch(`${g.url}/health`)
      expect(h.status).toBe(200)
      const body = (await h.json()) as { dependencies: Record<string, { ok: boolean }> }
      expect(Object.keys(body.dependencies).sort()).toEqual(['feed', 'mongo', 'redis'])
      const r = await fetch(`${g.url}/ohlc?symbol=BTCUSDT`)
      expect(await r.json()).toEqual({ symbol: 'BTCUSDT', interval: '1h', candles: [] })
    } finally {
      await g.close()
    }
  })
})
