/**
 * Writing a file so that readers see either the old content or the whole new
 * one, never a part: the data goes to a new file beside the target, under an
 * unpredictable name created exclusively (`O_CREAT | O_EXCL`: never a file or
 * symlink someone placed there), with its final mode from the start, and then
 * takes the target's name in one step: `rename` (replace) or `link` (only if
 * the target does not exist yet, so that of several writers exactly one wins).
 */

import { randomBytes } from 'node:crypto'
import { constants as fs } from 'node:fs'
import { link, open, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

export interface AtomicWriteOptions {
  /** @default 0o600 */
  mode?: number
  /** Leave an existing target alone and return false (first writer wins). @default false: replace it */
  exclusive?: boolean
  /** fsync before the name appears, so the content survives a crash. @default true */
  durable?: boolean
}

/** Writes `data` to `path` atomically. Returns false only when `exclusive` and `path` already existed. */
export async function writeFileAtomic (path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<boolean> {
  const mode = options.mode ?? 0o600
  // A dot name ending in .tmp: folder scanners (local discovery) skip it.
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`)
  const handle = await open(tmp, fs.O_WRONLY | fs.O_CREAT | fs.O_EXCL, mode)
  try {
    try {
      // The umask may have narrowed the mode at creation; make it exact before the name appears.
      await handle.chmod(mode)
      await handle.writeFile(data)
      if (options.durable ?? true) await handle.sync()
    } finally {
      await handle.close()
    }
    if (options.exclusive === true) {
      try {
        await link(tmp, path)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
        throw err
      }
    } else {
      await rename(tmp, path)
    }
    return true
  } finally {
    // After a rename there is nothing left to remove; after a link (or a failure) the temporary name goes.
    await unlink(tmp).catch(() => {})
  }
}
