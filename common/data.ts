import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ConfigError } from './errors.ts'

// Where the recorded Binance files live (data/binance/SOURCES.md). The replay server, tests and
// benches read them. A clone carries a sample in data/binance; CS_BINANCE_DATA points at a
// larger folder of the same layout (e.g. what `cli.ts data fetch` downloads).
const candidates = (): string[] => [
  ...(process.env.CS_BINANCE_DATA ? [process.env.CS_BINANCE_DATA] : []),
  fileURLToPath(new URL('../data/binance', import.meta.url)),
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
