import pino from 'pino'
import pretty from 'pino-pretty'

// The one logger (pino): JSON lines on stderr, so stdout stays free for CLI output and figures;
// human-readable when stdout is a terminal or CS_LOG_FORMAT=pretty (CS_LOG_FORMAT=json forces
// JSON). Every line has t, level, component, msg and the caller's fields. CS_LOG_LEVEL sets the
// level, per component too: `info,engine=debug` (a component's name covers its children,
// `engine` covers `engine.kafka`; the longest match wins).
const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const
export type Level = keyof typeof levels

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(component: string): Logger
}

interface LevelSpec {
  base: number
  /** Component prefix → threshold. */
  components: [string, number][]
}

/** `info,engine=debug` → thresholds; anything unreadable falls back to info (config reports it). */
function parseLevels(spec: string | undefined): LevelSpec {
  const out: LevelSpec = { base: levels.info, components: [] }
  for (const [i, part] of (spec ?? '').split(',').entries()) {
    const [a = '', b] = part.trim().split('=')
    if (b === undefined && i === 0 && a in levels) out.base = levels[a as Level]
    else if (b !== undefined && b.trim() in levels) out.components.push([a.trim(), levels[b.trim() as Level]])
  }
  out.components.sort((x, y) => y[0].length - x[0].length)
  return out
}

let spec = parseLevels(process.env.CS_LOG_LEVEL)
const thresholds = new Map<string, number>()

function threshold(component: string): number {
  let t = thresholds.get(component)
  if (t === undefined) {
    const match = spec.components.find(([p]) => component === p || component.startsWith(`${p}.`))
    t = match ? match[1] : spec.base
    thresholds.set(component, t)
  }
  return t
}

/** Sets the levels at run time, same syntax as CS_LOG_LEVEL (`warn`, `info,engine=debug`). */
export function setLogLevel(level: Level | string): void {
  spec = parseLevels(level)
  thresholds.clear()
}

function usePretty(): boolean {
  const format = process.env.CS_LOG_FORMAT
  if (format === 'pretty') return true
  if (format === 'json') return false
  return process.stdout.isTTY === true
}

// Synchronous writes: a line logged just before process.exit is never lost.
const root = pino(
  {
    level: 'debug',
    base: undefined,
    serializers: { err: (e: unknown) => e },
    messageKey: 'msg',
    timestamp: () => `,"t":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
  },
  usePretty()
    ? pretty({
        destination: 2,
        sync: true,
        colorize: process.stderr.isTTY === true,
        timestampKey: 't',
        translateTime: 'SYS:HH:MM:ss.l',
        singleLine: true,
        messageFormat: '{component}: {msg}',
        ignore: 'component',
        errorLikeObjectKeys: [],
      })
    : pino.destination({ dest: 2, sync: true }),
)

/** Errors as {name, message, code} (as before pino): no stack in the log of a known failure. */
function plain(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!fields) return {}
  let out = fields
  for (const [k, v] of Object.entries(fields))
    if (v instanceof Error) {
      if (out === fields) out = { ...fields }
      const code = (v as { code?: unknown }).code
      out[k] = { name: v.name, message: v.message, ...(code === undefined ? {} : { code }) }
    }
  return out
}

export function createLogger(component: string): Logger {
  const p = root.child({ component })
  const write = (level: Exclude<Level, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (levels[level] < threshold(component)) return
    p[level](plain(fields), msg)
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (c) => createLogger(`${component}.${c}`),
  }
}
