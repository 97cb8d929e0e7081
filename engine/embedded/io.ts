import { closeSync, fdatasync, fsyncSync, ftruncateSync, openSync, write, writeSync } from 'node:fs'

// The file writes of the embedded log, in one place so a test can make them fail the way a full or
// failing disk does (ENOSPC after part of a buffer, EIO on fdatasync) without replacing the file
// system: everything else (reads, opens, renames, directory syncs) stays real.

export interface LogIO {
  /** Positioned write of an append (fs.writeSync); may write less than asked, then is called for the rest. */
  write(fd: number, buf: Buffer, offset: number, length: number, position: number): number
  /** The cleaner's output writes: asynchronous, so the event loop runs on while it cleans. */
  writeAsync(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number>
  /** Cuts a segment back to `length` bytes after a failed append (fs.ftruncateSync). */
  truncate(fd: number, length: number): void
  /** Makes a segment's appended data durable (fs.fdatasync): the group commit of sends. */
  fdatasync(fd: number): Promise<void>
}

export const defaultIO: LogIO = {
  write: (fd, buf, offset, length, position) => writeSync(fd, buf, offset, length, position),
  writeAsync: (fd, buf, offset, length, position) =>
    new Promise((resolve, reject) =>
      write(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))),
    ),
  truncate: (fd, length) => ftruncateSync(fd, length),
  fdatasync: (fd) =>
    new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
}

/** Makes a directory's entries durable (after a create, rename or delete in it). */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
