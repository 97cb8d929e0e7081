// crypto-streams CLI: one entry point for the platform and the scheduled jobs.
import { createLogger } from '../common/log.ts'

const log = createLogger('cli')
const [command = 'help'] = process.argv.slice(2)

const commands: Record<string, () => Promise<void>> = {
  async platform() {
    log.info('platform: not wired yet; lands with the engine, ingest and gateway issues')
  },
  async backfill() {
    const { backfill, parseBackfillArgs } = await import('./backfill.ts')
    const counts = await backfill(parseBackfillArgs(process.argv.slice(3)))
    process.stdout.write(`${JSON.stringify(counts)}\n`)
  },
  async help() {
    process.stdout.write(`usage: node scripts/cli.ts <command>\n  ${Object.keys(commands).join('\n  ')}\n`)
  },
}

const run = commands[command]
if (!run) {
  process.stderr.write(`unknown command "${command}"\n`)
  await commands.help!()
  process.exit(2)
}
await run()
