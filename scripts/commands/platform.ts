import { type CommandSpec, untilSignal } from './command.ts'
import { checkBinance, checkKafka, checkReplaySymbols } from './preflight.ts'

export const platform: CommandSpec = {
  name: 'platform',
  description:
    'the whole platform in one process: replay server (CS_SOURCE=replay) → ingest → engine → status server (what `npm start` runs)',
  options: [
    { flags: '--transport <kind>', setting: 'transport' },
    { flags: '--source <source>', setting: 'source' },
    { flags: '--symbols <list>', setting: 'symbols' },
    { flags: '--port <port>', setting: 'gatewayPort' },
    { flags: '--speed <speed>', setting: 'replaySpeed' },
    { flags: '--from <instant>', setting: 'replayFrom' },
    { flags: '--data-dir <dir>', setting: 'dataDir' },
    { flags: '--processing-guarantee <g>', setting: 'processingGuarantee' },
  ],
  async action({ config, log }) {
    if (config.source === 'replay') await checkReplaySymbols(config.symbols)
    await checkBinance(config)
    await checkKafka(config)
    const { startPlatform } = await import('../platform.ts')
    const p = await startPlatform(config)
    await untilSignal()
    log.info('stopping')
    await p.close()
  },
}
