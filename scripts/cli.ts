// crypto-streams CLI: one entry point for the platform and the scheduled jobs.
import { StreamsError } from '../common/errors.ts'
import { createLogger } from '../common/log.ts'

const log = createLogger('cli')
const [command = 'help'] = process.argv.slice(2)

const untilSignal = () =>
  new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })

const commands: Record<string, () => Promise<void>> = {
  async platform() {
    const { startPlatform } = await import('./platform.ts')
    const platform = await startPlatform()
    await untilSignal()
    log.info('stopping')
    await platform.close()
  },
  async replay() {
    const { replayCommand } = await import('../ingest/replay/index.ts')
    await replayCommand(process.argv.slice(3))
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
try {
  await run()
} catch (e) {
  // Our own errors carry a code and a message that says what to do: no stack trace for those.
  if (!(e instanceof StreamsError)) throw e
  log.error(e.message, { code: e.code })
  process.exit(1)
}
