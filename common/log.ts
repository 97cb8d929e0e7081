// The one logger: JSON lines on stderr, so stdout stays free for CLI output and figures.
const levels = { debug: 10, info: 20, warn: 30, error: 40 } as const
export type Level = keyof typeof levels

let threshold: number = levels[(process.env.CS_LOG_LEVEL as Level) ?? 'info'] ?? levels.info

export function setLogLevel(level: Level): void {
  threshold = levels[level]
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(component: string): Logger
}

export function createLogger(component: string): Logger {
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (levels[level] < threshold) return
    const line = { t: new Date().toISOString(), level, component, msg, ...fields }
    process.stderr.write(`${JSON.stringify(line, errorReplacer)}\n`)
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (c) => createLogger(`${component}.${c}`),
  }
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value
}
