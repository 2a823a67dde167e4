/**
 * Checks on the files that hold a Gateway's secrets (`mesh.key`, the peer key)
 * and on the folders that hold them, before they are used.
 *
 * A secret file must belong to this user (or root) and be readable by nobody
 * else; a folder must belong to this user (or root) and be writable by nobody
 * else (or someone could replace the key with theirs and pull this Gateway into
 * their mesh). Anything else is an {@link UnsafeFileError} that names the file
 * and the command that fixes it. It is an error, not a warning that fixes the
 * mode quietly: a key that others could read may already have been copied, and
 * only the operator can judge whether to rotate it (as ssh refuses a private
 * key that others can read).
 *
 * POSIX only: on Windows, modes and owners do not mean this, and nothing is checked.
 */

import { stat } from 'node:fs/promises'

/** What is wrong with a file or folder. */
export type UnsafeFileProblem = 'foreign-owner' | 'readable-by-others' | 'writable-by-others' | 'wrong-type'

/** A secret file or its folder is not private to this user. `code` is stable; the message says how to fix it. */
export class UnsafeFileError extends Error {
  override name = 'UnsafeFileError'
  readonly code = 'UNSAFE_FILE'
  readonly path: string
  readonly problem: UnsafeFileProblem
  constructor (path: string, problem: UnsafeFileProblem, message: string) {
    super(message)
    this.path = path
    this.problem = problem
  }
}

/** Whether modes and owners can be checked here. */
function checkable (): boolean {
  return process.platform !== 'win32' && typeof process.getuid === 'function'
}

/** Throws unless `path` is a regular file owned by this user (or root) that no one else may read or write. */
export async function assertPrivateFile (path: string, what: string): Promise<void> {
  if (!checkable()) return
  const s = await stat(path)
  if (!s.isFile()) throw new UnsafeFileError(path, 'wrong-type', `${what} ${path} is not a regular file`)
  assertOwner(path, what, s.uid)
  if ((s.mode & 0o077) !== 0) {
    throw new UnsafeFileError(path, 'readable-by-others',
      `${what} ${path} has mode ${octal(s.mode)}: other users of this machine can read it. ` +
      `Fix: chmod 600 ${path}. If they may have copied it, treat it as leaked and replace it (for the mesh secret: rotate it, docs/operations.md)`)
  }
}

/** Throws unless `path` is a folder owned by this user (or root) that no one else may write to. */
export async function assertPrivateDir (path: string, what: string): Promise<void> {
  if (!checkable()) return
  const s = await stat(path)
  if (!s.isDirectory()) throw new UnsafeFileError(path, 'wrong-type', `${what} ${path} is not a folder`)
  assertOwner(path, what, s.uid)
  if ((s.mode & 0o022) !== 0) {
    throw new UnsafeFileError(path, 'writable-by-others',
      `${what} ${path} has mode ${octal(s.mode)}: other users of this machine can add or replace files in it (the mesh key among them). Fix: chmod 700 ${path}`)
  }
}

function assertOwner (path: string, what: string, uid: number): void {
  const me = process.getuid?.()
  if (uid !== me && uid !== 0) {
    throw new UnsafeFileError(path, 'foreign-owner',
      `${what} ${path} belongs to another user (uid ${uid}; this process runs as uid ${String(me)}): they control what it holds. ` +
      `Fix: use a state folder of your own (option stateDir, CLAWMESH_HOME), or have root give it to you (chown)`)
  }
}

function octal (mode: number): string {
  return '0' + (mode & 0o777).toString(8).padStart(3, '0')
}
