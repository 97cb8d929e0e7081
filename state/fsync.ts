import { open } from 'node:fs/promises'

/**
 * Makes the entries of a directory durable (a rename, create or delete in it): a file's own fsync
 * does not cover its name, so after a crash a renamed file could still have its old content.
 */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
