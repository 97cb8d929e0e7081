import { type Command, InvalidArgumentError, Option } from 'commander'
import { type Config, loadConfig, type SettingKey, settings } from '../../common/config.ts'
import { StreamsError } from '../../common/errors.ts'
import type { Logger } from '../../common/log.ts'

// One file per CLI command in this folder, each exporting a CommandSpec; index.ts lists them.
// An option either stands for a setting of common/config.ts (`setting`: its default, env var and
// validation come from there, and the flag wins over the variable) or is the command's own.

export interface OptionSpec {
  /** Commander flags, e.g. `--port <n>` or `--write-raw`. */
  flags: string
  /** A config setting this flag overrides; the description defaults to the setting's. */
  setting?: SettingKey
  description?: string
  default?: string | boolean
  choices?: readonly string[]
  required?: boolean
  /** Converts the raw value; throw InvalidArgumentError (see `invalid`) for a usage error. */
  parse?: (raw: string) => unknown
}

export interface CommandContext {
  /** Every setting, validated; flags bound to settings already applied. */
  config: Config
  /** The command's own options (by camelCase name) and arguments. */
  options: Record<string, unknown>
  args: string[]
  log: Logger
}

export interface CommandSpec {
  name: string
  description: string
  /** Positional arguments, commander syntax: `<file>` or `[files...]`. */
  arguments?: string
  options?: OptionSpec[]
  subcommands?: CommandSpec[]
  action?: (ctx: CommandContext) => Promise<void>
}

/** A usage mistake in an option's value (exit code 2, no stack). */
export const invalid = (message: string) => new InvalidArgumentError(message)

/** A `YYYY-MM-DD` option value that is a real UTC day. */
export function utcDay(raw: string): string {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? Date.parse(`${raw}T00:00:00Z`) : Number.NaN
  // Date.parse rolls 2024-02-30 over to March: a real date prints back the same.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== raw)
    throw invalid(`must be a UTC date YYYY-MM-DD, got "${raw}"`)
  return raw
}

/**
 * Resolves on SIGINT / SIGTERM: long-running roles stop cleanly then. A second signal while
 * stopping exits at once (exit code 130), for an operator who does not want to wait.
 */
export const untilSignal = () =>
  new Promise<void>((resolve) => {
    const first = () => {
      process.off('SIGINT', first)
      process.off('SIGTERM', first)
      const again = () => {
        process.stderr.write('second signal: exiting without a clean stop\n')
        process.exit(130)
      }
      process.once('SIGINT', again)
      process.once('SIGTERM', again)
      resolve()
    }
    process.on('SIGINT', first)
    process.on('SIGTERM', first)
  })

/**
 * Loads a role's implementation on demand. A module not in this build (a role still being
 * written, or left out of a slim image) gives a clear error instead of a stack trace.
 */
export async function optionalModule<T>(path: string, role: string, exportName: string): Promise<T> {
  const url = new URL(path, import.meta.url)
  const shown = url.pathname.slice(new URL('../../', import.meta.url).pathname.length)
  let mod: Record<string, unknown>
  try {
    mod = (await import(url.href)) as Record<string, unknown>
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    if (err.code === 'ERR_MODULE_NOT_FOUND' && err.message.includes(url.pathname))
      throw notAvailable(role, `${shown} is missing`)
    throw e
  }
  if (typeof mod[exportName] !== 'function')
    throw notAvailable(role, `${shown} does not export ${exportName}()`)
  return mod[exportName] as T
}

const notAvailable = (role: string, why: string) =>
  new StreamsError('CONFIG', 'NOT_AVAILABLE', `the ${role} role is not available in this build (${why})`)

// Help text: setting-bound options show the setting's default and variable.
const optionMeta = new WeakMap<Option, { default?: string; env?: string }>()

export function optionHelp(option: Option, base: (o: Option) => string): string {
  const meta = optionMeta.get(option)
  if (!meta) return base(option)
  const extra = [meta.default !== undefined && `default: ${meta.default}`, meta.env && `env: ${meta.env}`]
    .filter(Boolean)
    .join(', ')
  return `${option.description} (${extra})`
}

export function buildOption(o: OptionSpec): Option {
  const s = o.setting ? settings[o.setting] : undefined
  const doc = o.description ?? s?.doc.replace(/`/g, '') ?? ''
  const opt = new Option(o.flags, o.required ? `${doc} (required)` : doc)
  if (s) optionMeta.set(opt, { default: (s.default as string) === '' ? '(none)' : s.default, env: s.env })
  else if (o.default !== undefined) opt.default(o.default)
  if (o.choices) opt.choices(o.choices)
  if (o.required) opt.makeOptionMandatory()
  if (o.parse) opt.argParser(o.parse)
  return opt
}

/** Config from the environment with the flags that stand for settings applied on top. */
export function configFor(spec: CommandSpec, opts: Record<string, unknown>): Config {
  const env: NodeJS.ProcessEnv = { ...process.env }
  const flags: Record<string, string> = {}
  for (const o of spec.options ?? []) {
    if (!o.setting) continue
    const value = opts[optionKey(o.flags)]
    if (value === undefined) continue
    const name = settings[o.setting].env
    env[name] = String(value)
    flags[name] = o.flags.split(/[ ,]/)[0]!
  }
  return loadConfig(env, {}, { flags })
}

/** `--trades-per-minute <n>` → `tradesPerMinute` (commander's option key). */
export function optionKey(flags: string): string {
  const long = flags.split(/[ ,|]+/).find((f) => f.startsWith('--'))!
  return long.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

export type { Command }
