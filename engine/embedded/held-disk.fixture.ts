import { fdatasync } from 'node:fs'
import type { LogIO } from './io.ts'

// A disk whose fdatasync waits until the test lets it go (then really syncs): shows what readers
// and writers do while a send is appended but not yet durable.

export interface HeldDisk {
  io: Partial<LogIO>
  /** Lets every fdatasync held so far go. */
  release(): void
  /** How many fdatasyncs are held. */
  held(): number
  /** Releases held fdatasyncs until `done` settles (a send or commit may sync more than once). */
  releaseUntil<T>(done: Promise<T>): Promise<T>
}

export function heldDisk(): HeldDisk {
  let waiting: (() => void)[] = []
  const release = () => {
    const w = waiting
    waiting = []
    for (const f of w) f()
  }
  return {
    io: {
      fdatasync: (fd) =>
        new Promise((resolve, reject) =>
          waiting.push(() => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
        ),
    },
    release,
    held: () => waiting.length,
    async releaseUntil(done) {
      let settled = false
      const watched = done.finally(() => {
        settled = true
      })
      watched.catch(() => {})
      while (!settled) {
        release()
        await new Promise((r) => setTimeout(r, 5))
      }
      return done
    },
  }
}
