// crypto-streams CLI: one entry point for the platform, each role and the jobs.
//   node scripts/cli.ts --help | <command> --help
// Exit codes: 0 done, 1 runtime failure, 2 usage or configuration mistake.
import { readFileSync } from 'node:fs'
import { Command, CommanderError, type Help, type Option } from 'commander'
import { configWarnings } from '../common/config.ts'
import { ConfigError, StreamsError } from '../common/errors.ts'
import { createLogger } from '../common/log.ts'
import { buildOption, type CommandSpec, configFor, optionHelp } from './commands/command.ts'
import { commands } from './commands/index.ts'

const log = createLogger('cli')
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string
}

const EXIT_RUNTIME = 1
const EXIT_USAGE = 2

function register(parent: Command, spec: CommandSpec): void {
  const cmd = parent.command(spec.name).description(spec.description)
  if (spec.arguments) cmd.arguments(spec.arguments)
  for (const o of spec.options ?? []) cmd.addOption(buildOption(o))
  for (const sub of spec.subcommands ?? []) register(cmd, sub)
  cmd.addHelpText('after', '\nAll commands: node scripts/cli.ts --help')
  const action = spec.action
  if (!action) return
  cmd.action(async (...params: unknown[]) => {
    const self = params[params.length - 1] as Command
    const options = self.opts()
    for (const warning of configWarnings()) log.warn(warning)
    const config = configFor(spec, options)
    await action({ config, options, args: self.args, log: createLogger(spec.name) })
  })
}

export function program(specs: CommandSpec[] = commands): Command {
  const p = new Command('node scripts/cli.ts')
    .description('Kafka Streams-style stream processor for Binance market data')
    .version(version, '-V, --version')
    .usage('<command> [options]')
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({
      optionDescription(this: Help, option: Option) {
        return optionHelp(option, (o) => Object.getPrototypeOf(this).optionDescription.call(this, o))
      },
    })
    .exitOverride()
  p.addHelpText(
    'after',
    '\nEvery setting is an environment variable (README: Configuration); a flag wins over its variable.\n' +
      'Exit codes: 0 done, 1 runtime failure, 2 usage or configuration mistake.',
  )
  for (const spec of specs) register(p, spec)
  return p
}

/** Our own errors say what to do: one line, no stack. Anything else is a bug: stack trace. */
function fail(e: unknown): never {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : EXIT_USAGE)
  if (e instanceof ConfigError && e.code !== 'CONFIG_PORT_IN_USE' && e.code !== 'CONFIG_NOT_AVAILABLE') {
    for (const line of e.message.split('\n')) process.stderr.write(`error: ${line}\n`)
    process.exit(EXIT_USAGE)
  }
  if (e instanceof StreamsError) {
    log.error(e.message, { code: e.code })
    process.exit(EXIT_RUNTIME)
  }
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  process.exit(EXIT_RUNTIME)
}

/** Runs the CLI on `argv` (process.argv form) and exits on failure with the matching code. */
export async function main(argv: string[], specs: CommandSpec[] = commands): Promise<void> {
  // A role's background task failing (a lost server, a bad record source) ends the process the
  // same way: one line for our own errors, a stack for anything else.
  process.on('unhandledRejection', fail)
  process.on('uncaughtException', fail)
  try {
    await program(specs).parseAsync(argv)
  } catch (e) {
    fail(e)
  }
}

if (import.meta.main) await main(process.argv)
