import { backfill } from './backfill.ts'
import type { CommandSpec } from './command.ts'
import { config } from './config.ts'
import { data } from './data.ts'
import { gateway } from './gateway.ts'
import { ingest } from './ingest.ts'
import { platform } from './platform.ts'
import { processRole } from './process.ts'
import { replay } from './replay.ts'
import { retention } from './retention.ts'
import { sink } from './sink.ts'
import { train } from './train.ts'

// Every CLI command, in help order: the one-process run, the roles, the jobs, the tools.
// A new command: a file here exporting a CommandSpec (see command.ts), and a line below.
export const commands: CommandSpec[] = [
  platform,
  ingest,
  processRole,
  sink,
  gateway,
  backfill,
  train,
  retention,
  replay,
  data,
  config,
]
