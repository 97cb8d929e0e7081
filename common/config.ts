import { existsSync, statSync } from 'node:fs'
import { z } from 'zod'
import { ConfigError } from './errors.ts'

// The one config loader: every setting is an environment variable described here once (type,
// range, default, meaning, aliases), validated as a whole by one zod schema, typed. README's
// configuration table is generated from this list (scripts/config-table.ts).
//
// To add a setting: an entry below with `env`, `kind`, `default` (as the variable would be
// written), `doc`; narrow it with `values` (the allowed words), `min`/`max` (numbers), or
// `format` (a zod check of the text, or of each item of a list, with `allowed` saying in words
// what passes). `aliases` are other names accepted for the same variable.
type Kind = 'string' | 'int' | 'number' | 'list' | 'bool'
interface Setting {
  env: string
  kind: Kind
  default: string
  doc: string
  values?: readonly string[]
  min?: number
  max?: number
  format?: z.ZodType<string, string>
  /** What `format` accepts, in words (error lines and the README table). */
  allowed?: string
  aliases?: readonly string[]
}

const url = (...protocols: string[]) =>
  z.string().refine((s) => {
    try {
      return protocols.includes(new URL(s).protocol)
    } catch {
      return false
    }
  })
const levels = ['debug', 'info', 'warn', 'error', 'silent'] as const
const levelWord = z.enum(levels)
/** `info` or `info,engine=debug,ingest.binance=warn`: a default and per-component levels. */
const logLevels = z.string().refine((s) =>
  s.split(',').every((part, i) => {
    const [a, b, ...rest] = part.trim().split('=')
    if (rest.length > 0) return false
    if (b === undefined) return i === 0 && levelWord.safeParse(a).success
    return /^[A-Za-z0-9_.-]+$/.test(a!) && levelWord.safeParse(b.trim()).success
  }),
)
const replayEpoch = Date.parse('2024-01-01T00:00:00Z')
const instant = z.string().refine((s) => {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(s) ? Date.parse(s) : Number.NaN
  return Number.isFinite(ms) && ms >= replayEpoch
})
const speed = z.string().refine((s) => s === 'max' || (s.trim() !== '' && Number(s) > 0))

export const settings = {
  transport: {
    env: 'CS_TRANSPORT',
    kind: 'string',
    default: 'embedded',
    doc: '`embedded` (durable local log) or `kafka`',
    values: ['embedded', 'kafka'],
  },
  dataDir: {
    env: 'CS_DATA_DIR',
    kind: 'string',
    default: '.data',
    doc: 'Embedded log, state stores and checkpoints',
    format: z
      .string()
      .min(1)
      .refine((p) => !existsSync(p) || statSync(p).isDirectory()),
    allowed: 'a directory path (not a file)',
  },
  processingGuarantee: {
    env: 'CS_PROCESSING_GUARANTEE',
    kind: 'string',
    default: 'at_least_once',
    doc: 'Engine commits: `at_least_once` or `exactly_once` (transactions; engine/README.md, Processing guarantees)',
    values: ['at_least_once', 'exactly_once'],
  },
  partitions: {
    env: 'CS_PARTITIONS',
    kind: 'int',
    default: '6',
    doc: 'Partitions of the raw and derived topics the platform creates on Kafka (instances of a role split them; existing topics keep theirs); the embedded log uses 1 unless this is set',
    min: 1,
    max: 1000,
  },
  kafkaBrokers: {
    env: 'KAFKA_BROKERS',
    kind: 'list',
    default: '127.0.0.1:19092',
    doc: 'Kafka bootstrap servers (comma separated)',
    format: z.string().regex(/^[^\s:/,]+:\d{1,5}$/),
    allowed: 'host:port, comma separated',
    aliases: ['KAFKA_BOOTSTRAP', 'KAFKA_BOOTSTRAP_SERVERS'],
  },
  redisUrl: {
    env: 'REDIS_URL',
    kind: 'string',
    default: 'redis://127.0.0.1:16379',
    doc: 'Redis sink (when unset, built from the split form: host 127.0.0.1 and port 16379 by default)',
    format: url('redis:', 'rediss:'),
    allowed: 'a redis:// or rediss:// URL',
    aliases: ['REDIS_HOST', 'REDIS_PORT', 'REDIS_PASSWORD'],
  },
  mongoUrl: {
    env: 'MONGO_URL',
    kind: 'string',
    default: 'mongodb://127.0.0.1:27027/crypto',
    doc: 'MongoDB sink (any MongoDB-wire server)',
    format: url('mongodb:', 'mongodb+srv:'),
    allowed: 'a mongodb:// or mongodb+srv:// URL',
    aliases: ['MONGO_URI'],
  },
  mongoDb: {
    env: 'MONGO_DB',
    kind: 'string',
    default: 'CRYPTO',
    doc: 'MongoDB sink database (collections `5m_kline`, `1h_kline`, `4h_kline`, `1d_kline`, `predictions`)',
    format: z.string().regex(/^[^/\\. "$*<>:|?]{1,63}$/),
    allowed: 'a database name: 1-63 characters, none of / \\ . space " $ * < > : | ?',
  },
  redisTtlSeconds: {
    env: 'REDIS_TTL_SECONDS',
    kind: 'int',
    default: '86400',
    doc: 'Redis sink: TTL of every key, refreshed on write',
    min: 1,
  },
  redisKline1mKeep: {
    env: 'REDIS_KLINE_1M_KEEP',
    kind: 'int',
    default: '1440',
    doc: 'Redis sink: newest 1m candles kept per symbol',
    min: 1,
  },
  redisTradesKeep: {
    env: 'REDIS_TRADES_KEEP',
    kind: 'int',
    default: '1000',
    doc: 'Redis sink: newest trades kept per symbol',
    min: 1,
  },
  symbols: {
    env: 'CS_SYMBOLS',
    kind: 'list',
    default:
      'BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT,ADAUSDT,XRPUSDT,DOGEUSDT,DOTUSDT,POLUSDT,AVAXUSDT,LINKUSDT,UNIUSDT,LTCUSDT,ATOMUSDT,ETCUSDT',
    doc: 'Symbols to ingest',
    format: z
      .string()
      .regex(/^[A-Za-z0-9]{2,20}$/)
      .transform((s) => s.toUpperCase()),
    allowed: 'Binance symbols (letters and digits, e.g. BTCUSDT), comma separated',
  },
  binanceWsUrl: {
    env: 'BINANCE_WS_URL',
    kind: 'string',
    default: 'wss://data-stream.binance.vision',
    doc: 'Market-data WebSocket base',
    format: url('ws:', 'wss:'),
    allowed: 'a ws:// or wss:// URL',
  },
  binanceRestUrl: {
    env: 'BINANCE_REST_URL',
    kind: 'string',
    default: 'https://data-api.binance.vision',
    doc: 'REST base',
    format: url('http:', 'https:'),
    allowed: 'an http:// or https:// URL',
  },
  source: {
    env: 'CS_SOURCE',
    kind: 'string',
    default: 'replay',
    doc: '`replay` (the local Binance-protocol replay server, started by `platform`) or `binance` (the URLs below)',
    values: ['replay', 'binance'],
  },
  replayFrom: {
    env: 'CS_REPLAY_FROM',
    kind: 'string',
    default: '2024-01-02T00:00:00Z',
    doc: 'Replay start instant (virtual clock)',
    format: instant,
    allowed: 'an ISO date or instant, at or after 2024-01-01T00:00:00Z',
  },
  replayPort: {
    env: 'CS_REPLAY_PORT',
    kind: 'int',
    default: '9443',
    doc: 'Replay server port (local Binance protocol; 0 = any free port)',
    min: 0,
    max: 65535,
  },
  replaySpeed: {
    env: 'CS_REPLAY_SPEED',
    kind: 'string',
    default: '60',
    doc: 'Replay speed: a factor (1, 60, …) or `max`',
    format: speed,
    allowed: 'a number > 0 or max',
  },
  gatewayPort: {
    env: 'CS_GATEWAY_PORT',
    kind: 'int',
    default: '8080',
    doc: 'REST + Socket.IO + dashboard port (0 = any free port)',
    min: 0,
    max: 65535,
  },
  gatewayReader: {
    env: 'CS_GATEWAY_READER',
    kind: 'string',
    default: 'auto',
    doc: 'Gateway reads `stores` (engine state, no database), `sinks` (MongoDB + Redis) or `auto` (sinks when `MONGO_URL` and `REDIS_URL` are set)',
    values: ['stores', 'sinks', 'auto'],
  },
  corsOrigins: {
    env: 'CORS_ORIGINS',
    kind: 'list',
    default: 'http://localhost:4200,http://127.0.0.1:4200',
    doc: 'Origins allowed to call the gateway from a browser (comma separated; `*` for any)',
    format: z.union([z.literal('*'), z.string().regex(/^https?:\/\/[^/\s]+$/)]),
    allowed: '* or origins like https://example.com:8443 (no path), comma separated',
  },
  logLevel: {
    env: 'CS_LOG_LEVEL',
    kind: 'string',
    default: 'info',
    doc: 'Log level, optionally per component: `info,engine=debug,ingest.binance=warn`',
    format: logLevels,
    allowed: `a level (${levels.join(', ')}), then optional component=level pairs, comma separated`,
  },
  logFormat: {
    env: 'CS_LOG_FORMAT',
    kind: 'string',
    default: 'auto',
    doc: '`json` lines, `pretty` (human-readable) or `auto` (pretty when stdout is a terminal)',
    values: ['auto', 'json', 'pretty'],
  },
  binanceData: {
    env: 'CS_BINANCE_DATA',
    kind: 'string',
    default: '',
    doc: 'Recorded Binance data for the replay server, tests and benches (empty: the clone’s `data/binance`)',
    format: z.string().refine((p) => p === '' || existsSync(p)),
    allowed: 'an existing directory',
  },
} as const satisfies Record<string, Setting>

type Settings = typeof settings
type ValueOf<K extends Kind> = K extends 'int' | 'number'
  ? number
  : K extends 'list'
    ? string[]
    : K extends 'bool'
      ? boolean
      : string
export type Config = { [K in keyof Settings]: ValueOf<Settings[K]['kind']> }
export type SettingKey = keyof Settings

/** Other CS_* variables this project reads (the test-server scripts); not warned about. */
const OTHER_VARIABLES = ['CS_SERVICES_DIR', 'CS_TOOLS_DIR'] as const

/** What a setting accepts, in words: the error lines and README's table say the same. */
export function allowedText(s: Setting): string {
  if (s.allowed) return s.allowed
  if (s.values) return `one of ${s.values.join(', ')}`
  if (s.kind === 'bool') return 'true or false (1 or 0)'
  if (s.kind === 'int' || s.kind === 'number') {
    const what = s.kind === 'int' ? 'an integer' : 'a number'
    if (s.min !== undefined && s.max !== undefined) return `${what} ${s.min}..${s.max}`
    if (s.min !== undefined) return `${what} ≥ ${s.min}`
    if (s.max !== undefined) return `${what} ≤ ${s.max}`
    return what
  }
  if (s.kind === 'list') return 'a comma-separated list'
  return 'any text'
}

/** The zod schema of one setting: its raw text → its typed value. */
function schemaOf(s: Setting): z.ZodType<unknown, string> {
  const text = z.string()
  switch (s.kind) {
    case 'int':
    case 'number': {
      let n = s.kind === 'int' ? z.number().int() : z.number()
      if (s.min !== undefined) n = n.min(s.min)
      if (s.max !== undefined) n = n.max(s.max)
      return text
        .trim()
        .regex(s.kind === 'int' ? /^[-+]?\d+$/ : /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i)
        .transform(Number)
        .pipe(n)
    }
    case 'bool':
      return text
        .trim()
        .toLowerCase()
        .pipe(z.enum(['true', 'false', '1', '0']))
        .transform((v) => v === 'true' || v === '1')
    case 'list': {
      const item = s.values ? z.enum(s.values as [string, ...string[]]) : (s.format ?? z.string())
      return text
        .transform((raw) =>
          raw
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean),
        )
        .pipe(z.array(item).min(1))
    }
    default:
      if (s.values) return z.enum(s.values as [string, ...string[]])
      return s.format ?? text
  }
}

const all = settings as Record<SettingKey, Setting>
const keys = Object.keys(all) as SettingKey[]

/** Every setting in one schema: an object of raw texts → the typed Config. */
export const configSchema = z.object(
  Object.fromEntries(keys.map((k) => [k, schemaOf(all[k])])) as Record<
    SettingKey,
    z.ZodType<unknown, string>
  >,
)

/** A setting's raw text and where it came from (its variable, an alias, or the default). */
interface Raw {
  value: string
  from: string
}

function rawOf(s: Setting, env: NodeJS.ProcessEnv): Raw {
  const set = (name: string) => env[name] !== undefined && env[name] !== ''
  if (set(s.env)) return { value: env[s.env]!, from: s.env }
  if (s.env === 'REDIS_URL' && (set('REDIS_HOST') || set('REDIS_PORT') || set('REDIS_PASSWORD'))) {
    // The original design's split Redis settings → one URL.
    const auth = env.REDIS_PASSWORD ? `:${encodeURIComponent(env.REDIS_PASSWORD)}@` : ''
    const value = `redis://${auth}${env.REDIS_HOST || '127.0.0.1'}:${env.REDIS_PORT || '16379'}`
    return { value, from: 'REDIS_HOST/REDIS_PORT/REDIS_PASSWORD' }
  }
  const alias = s.aliases?.find(set)
  if (alias) return { value: env[alias]!, from: alias }
  return { value: s.default, from: 'default' }
}

/** Where each setting's value comes from: its variable, an alias, or `default`. */
export function configSources(env: NodeJS.ProcessEnv = process.env): Record<SettingKey, string> {
  return Object.fromEntries(keys.map((k) => [k, rawOf(all[k], env).from])) as Record<SettingKey, string>
}

/** Whether the environment sets this setting (by its variable or an alias), not its default. */
export function isSet(key: SettingKey, env: NodeJS.ProcessEnv = process.env): boolean {
  return rawOf(all[key], env).from !== 'default'
}

/** Thrown when settings are invalid: one line per setting in `lines` (and the message). */
export class ConfigInvalidError extends ConfigError {
  readonly lines: string[]

  constructor(lines: string[]) {
    super('INVALID', lines.join('\n'))
    this.name = 'ConfigInvalidError'
    this.lines = lines
  }
}

export interface LoadOptions {
  /** Variables set from command-line flags: variable → flag, so error lines name the flag too. */
  flags?: Record<string, string>
}

/**
 * Reads, validates and types every setting. Invalid ones are all reported together (one line
 * each: the variable, its value, what is allowed) in a ConfigInvalidError.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Config> = {},
  options: LoadOptions = {},
): Config {
  const raws = Object.fromEntries(keys.map((k) => [k, rawOf(all[k], env)])) as Record<SettingKey, Raw>
  const result = configSchema.safeParse(Object.fromEntries(keys.map((k) => [k, raws[k].value])))
  if (!result.success) {
    const bad = [...new Set(result.error.issues.map((i) => i.path[0] as SettingKey))]
    throw new ConfigInvalidError(
      bad.map((k) => {
        const s = all[k]
        const r = raws[k]
        const flag = options.flags?.[r.from]
        const name = flag ? `${flag} (${r.from})` : r.from === 'default' ? `${s.env} (default)` : r.from
        return `${name}=${JSON.stringify(r.value)} is not allowed: expected ${allowedText(s)}`
      }),
    )
  }
  return { ...(result.data as Config), ...overrides }
}

/**
 * Warnings about the environment: CS_* variables nobody reads (a typo must not pass silently,
 * with the nearest known name) and aliases shadowed by the primary variable.
 */
export function configWarnings(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = new Set<string>(OTHER_VARIABLES)
  for (const s of Object.values(all)) {
    known.add(s.env)
    for (const a of s.aliases ?? []) known.add(a)
  }
  const out: string[] = []
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('CS_') || known.has(name)) continue
    const near = nearest(
      name,
      [...known].filter((k) => k.startsWith('CS_')),
    )
    out.push(`unknown variable ${name} is ignored${near ? `; did you mean ${near}?` : ''}`)
  }
  for (const s of Object.values(all)) {
    if (env[s.env] === undefined || env[s.env] === '') continue
    for (const a of s.aliases ?? [])
      if (env[a] !== undefined && env[a] !== '') out.push(`${a} is ignored: ${s.env} is set`)
  }
  return out
}

/** The candidate closest to `name` by edit distance, if close enough to be a likely typo. */
export function nearest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestD = Math.max(2, Math.floor(name.length / 4)) + 1
  for (const c of candidates) {
    const d = distance(name, c)
    if (d < bestD) [best, bestD] = [c, d]
  }
  return best
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[b.length]!
}
