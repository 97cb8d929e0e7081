import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { StreamsError } from '../common/errors.ts'
import type { TopicPartition, Transport } from '../engine/transport.ts'
import { syncDir } from './fsync.ts'
import type { LevelStore } from './level-store.ts'

// Recovery, in one place. A task's directory holds one LevelDB per store; each store keeps its
// checkpoint (the changelog offset its data includes) inside LevelDB, written in the same batch as
// the data (level-store.ts). On start:
//   no checkpoint (a store created now: its directory was new or lost), or a checkpoint beyond
//   the changelog end (stale) → wipe, replay the changelog from 0;
//   otherwise → keep the local copy and replay the changelog tail from the checkpoint.
// The task's `.checkpoint` file (per store, the same offsets) is consulted only for a store
// written before its checkpoint lived in LevelDB. Replays go in LevelDB batches of whole transport
// reads; the checkpoint is written (synced) once at the end; progress and time are reported.

export type Checkpoint = Record<string, number>
const FILE = '.checkpoint'

export async function readCheckpoint(taskDir: string): Promise<Checkpoint | undefined> {
  try {
    return JSON.parse(await readFile(join(taskDir, FILE), 'utf8')) as Checkpoint
  } catch {
    return undefined
  }
}

/** Atomic and durable: write a temp file, fsync, rename. */
export async function writeCheckpoint(taskDir: string, checkpoint: Checkpoint): Promise<void> {
  await mkdir(taskDir, { recursive: true })
  const tmp = join(taskDir, `${FILE}.tmp`)
  const fh = await open(tmp, 'w')
  try {
    await fh.writeFile(JSON.stringify(checkpoint))
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, join(taskDir, FILE))
  await syncDir(taskDir) // the rename itself must survive a crash
}

export interface RestoreProgress {
  restored: number
  total: number
}

export interface RestoreResult {
  /** Changelog offset the store now includes (the checkpoint to write). */
  offset: number
  records: number
  ms: number
  mode: 'full' | 'tail' | 'none'
}

export async function restoreStore(
  store: LevelStore<unknown>,
  transport: Transport,
  changelog: TopicPartition,
  /** The task's `.checkpoint` entry: used only for a store without its own (written before those existed). */
  legacyCheckpoint: number | undefined,
  options: { timeoutMs: number; onProgress?: (p: RestoreProgress) => void },
): Promise<RestoreResult> {
  const t0 = performance.now()
  const end = await transport.endOffset(changelog)
  const own = store.storedCheckpoint()
  let from = own === undefined ? legacyCheckpoint : (own ?? undefined)
  let mode: RestoreResult['mode'] = 'tail'
  if (from === undefined || from > end) {
    await store.wipe()
    from = 0
    mode = 'full'
  }
  const total = end - from
  if (total === 0) {
    if (own !== end) await store.writeCheckpoint(end)
    else store.checkpointOffset = end
    return { offset: end, records: 0, ms: performance.now() - t0, mode: mode === 'full' ? 'full' : 'none' }
  }
  let restored = 0
  let offset = from
  options.onProgress?.({ restored, total })
  for await (const batch of transport.read(changelog, from)) {
    const ops = new Array<{ key: string; value: string | null }>(batch.length)
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!
      ops[i] = { key: r.key, value: r.tombstone ? null : r.value }
    }
    await store.applyRaw(ops)
    restored += batch.length
    offset = batch[batch.length - 1]!.offset + 1
    options.onProgress?.({ restored, total })
    if (performance.now() - t0 > options.timeoutMs)
      throw new StreamsError(
        'STATE',
        'RESTORE_TIMEOUT',
        `restoring ${store.spec.name} from ${changelog.topic}-${changelog.partition} took over ${options.timeoutMs} ms (${restored}/${total} records)`,
      )
    if (offset >= end) break
  }
  const upTo = Math.max(offset, end)
  await store.writeCheckpoint(upTo) // durable before the caller checkpoints this offset
  return { offset: upTo, records: restored, ms: performance.now() - t0, mode }
}
