import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ConfigError } from './errors.ts'

// Where the recorded Binance files live (read ../shared/data/binance/SOURCES.md). The replay
// server, tests and benches read them; a clone beside `shared/` finds them with no setting.
const candidates = (): string[] => [
  ...(process.env.CS_BINANCE_DATA ? [process.env.CS_BINANCE_DATA] : []),
  fileURLToPath(new URL('../../shared/data/binance', import.meta.url)),
  '/work/shared/data/binance',
]

export function binanceDataDir(): string {
  const found = candidates().find((d) => existsSync(d))
  if (!found)
    throw new ConfigError(
      'INVALID',
      `recorded Binance data not found (tried ${candidates().join(', ')}); set CS_BINANCE_DATA`,
    )
  return found
}
