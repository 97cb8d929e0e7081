import { ConfigError } from './errors.ts'

// The one config loader: every setting is an environment variable listed here (README's table
// mirrors this list), read once, validated, typed.
type Kind = 'string' | 'int' | 'list' | 'bool'
interface Setting {
  env: string
  kind: Kind
  default: string
  doc: string
}

export const settings = {
  transport: {
    env: 'CS_TRANSPORT',
    kind: 'string',
    default: 'embedded',
    doc: '`embedded` (durable local log) or `kafka`',
  },
  dataDir: {
    env: 'CS_DATA_DIR',
    kind: 'string',
    default: '.data',
    doc: 'Embedded log, state stores and checkpoints',
  },
  kafkaBrokers: {
    env: 'KAFKA_BROKERS',
    kind: 'list',
    default: '127.0.0.1:19092',
    doc: 'Kafka bootstrap servers (comma separated)',
  },
  redisUrl: { env: 'REDIS_URL', kind: 'string', default: 'redis://127.0.0.1:16379', doc: 'Redis sink' },
  mongoUrl: {
    env: 'MONGO_URL',
    kind: 'string',
    default: 'mongodb://127.0.0.1:27027/crypto',
    doc: 'MongoDB sink (any MongoDB-wire server)',
  },
  mongoDb: {
    env: 'MONGO_DB',
    kind: 'string',
    default: 'CRYPTO',
    doc: 'MongoDB sink database (collections `5m_kline`, `1h_kline`, `4h_kline`, `1d_kline`, `predictions`)',
  },
  redisTtlSeconds: {
    env: 'REDIS_TTL_SECONDS',
    kind: 'int',
    default: '86400',
    doc: 'Redis sink: TTL of every key, refreshed on write',
  },
  redisKline1mKeep: {
    env: 'REDIS_KLINE_1M_KEEP',
    kind: 'int',
    default: '1440',
    doc: 'Redis sink: newest 1m candles kept per symbol',
  },
  redisTradesKeep: {
    env: 'REDIS_TRADES_KEEP',
    kind: 'int',
    default: '1000',
    doc: 'Redis sink: newest trades kept per symbol',
  },
  symbols: {
    env: 'CS_SYMBOLS',
    kind: 'list',
    default:
      'BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT,ADAUSDT,XRPUSDT,DOGEUSDT,DOTUSDT,POLUSDT,AVAXUSDT,LINKUSDT,UNIUSDT,LTCUSDT,ATOMUSDT,ETCUSDT',
    doc: 'Symbols to ingest',
  },
  binanceWsUrl: {
    env: 'BINANCE_WS_URL',
    kind: 'string',
    default: 'wss://data-stream.binance.vision',
    doc: 'Market-data WebSocket base',
  },
  binanceRestUrl: {
    env: 'BINANCE_REST_URL',
    kind: 'string',
    default: 'https://data-api.binance.vision',
    doc: 'REST base',
  },
  source: {
    env: 'CS_SOURCE',
    kind: 'string',
    default: 'replay',
    doc: '`replay` (the local Binance-protocol replay server, started by `platform`) or `binance` (the URLs below)',
  },
  replayFrom: {
    env: 'CS_REPLAY_FROM',
    kind: 'string',
    default: '2024-01-02T00:00:00Z',
    doc: 'Replay start instant (virtual clock)',
  },
  replayPort: {
    env: 'CS_REPLAY_PORT',
    kind: 'int',
    default: '9443',
    doc: 'Replay server port (local Binance protocol)',
  },
  replaySpeed: {
    env: 'CS_REPLAY_SPEED',
    kind: 'string',
    default: '60',
    doc: 'Replay speed: a factor (1, 60, …) or `max`',
  },
  gatewayPort: {
    env: 'CS_GATEWAY_PORT',
    kind: 'int',
    default: '8080',
    doc: 'REST + Socket.IO + dashboard port',
  },
  gatewayReader: {
    env: 'CS_GATEWAY_READER',
    kind: 'string',
    default: 'auto',
    doc: 'Gateway reads `stores` (engine state, no database), `sinks` (MongoDB + Redis) or `auto` (sinks when `MONGO_URL` and `REDIS_URL` are set)',
  },
  corsOrigins: {
    env: 'CORS_ORIGINS',
    kind: 'list',
    default: 'http://localhost:4200,http://127.0.0.1:4200',
    doc: 'Origins allowed to call the gateway from a browser (comma separated; `*` for any)',
  },
  logLevel: {
    env: 'CS_LOG_LEVEL',
    kind: 'string',
    default: 'info',
    doc: '`debug`, `info`, `warn` or `error`',
  },
} as const satisfies Record<string, Setting>

type Settings = typeof settings
type ValueOf<K extends Kind> = K extends 'int'
  ? number
  : K extends 'list'
    ? string[]
    : K extends 'bool'
      ? boolean
      : string
export type Config = { [K in keyof Settings]: ValueOf<Settings[K]['kind']> }

function parse(s: Setting, raw: string): string | number | boolean | string[] {
  switch (s.kind) {
    case 'int': {
      const n = Number(raw)
      if (!Number.isInteger(n)) throw new ConfigError('INVALID', `${s.env} must be an integer, got "${raw}"`)
      return n
    }
    case 'list':
      return raw
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
    case 'bool':
      if (!['true', 'false', '1', '0'].includes(raw))
        throw new ConfigError('INVALID', `${s.env} must be true or false`)
      return raw === 'true' || raw === '1'
    default:
      return raw
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const out: Record<string, unknown> = {}
  for (const [key, s] of Object.entries(settings) as [string, Setting][]) {
    out[key] = parse(s, env[s.env] ?? s.default)
  }
  const cfg = { ...(out as Config), ...overrides }
  if (cfg.transport !== 'embedded' && cfg.transport !== 'kafka') {
    throw new ConfigError('INVALID', `CS_TRANSPORT must be "embedded" or "kafka", got "${cfg.transport}"`)
  }
  if (cfg.source !== 'replay' && cfg.source !== 'binance') {
    throw new ConfigError('INVALID', `CS_SOURCE must be "replay" or "binance", got "${cfg.source}"`)
  }
  return cfg
}
