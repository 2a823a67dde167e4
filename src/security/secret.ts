/**
 * The mesh secret a Gateway runs with: a keyring of libp2p private-network
 * (pnet) swarm keys shared by the Gateways of one mesh (see ./keyring.ts).
 * Without one of its keys a peer cannot finish a connection handshake.
 *
 * Resolution order (first hit wins):
 * 1. the explicit `secret` option (a key, a keyring's text form, or `{ primary, accept }`);
 * 2. the `CLAWMESH_SECRET` environment variable (a key or a keyring's text form);
 * 3. the key file `<stateDir>/mesh.key`: read when it exists, otherwise created
 *    (mode 0600, atomically) by the first Gateway on the host.
 *
 * The state directory is: the `stateDir` option > `CLAWMESH_HOME` >
 * `$XDG_STATE_HOME/clawmesh` (when `XDG_STATE_HOME` is set) > `~/.clawmesh`.
 * An explicit option beats the environment, as for the secret itself.
 */

import { mkdir, readFile, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { generateSecret, InvalidSecretError, SECRET_ENV, SECRET_FILE_NAME, type MeshSecret } from './key.ts'
import { writeFileAtomic } from '../util/atomic-write.ts'
import { assertPrivateDir, assertPrivateFile } from './file-safety.ts'
import { keyringOf, parseKeyring, type MeshKeyring, type SecretOption } from './keyring.ts'

export {
  exportSecret, formatSecret, generateSecret, InvalidSecretError, meshIdOf, parseSecret, SECRET_ENV, SECRET_FILE_NAME,
  shareInstructions, type MeshSecret
} from './key.ts'

/** Where a secret came from, for logs and `status()`. */
export type SecretSource = 'option' | 'env' | 'file' | 'file-created'

export interface ResolvedSecret extends MeshSecret {
  /** Every key the Gateway holds; the fields above are its primary's. */
  keyring: MeshKeyring
  source: SecretSource
  /** The key file, when the secret came from (or was written to) one. */
  path?: string
}

export interface StateDirOptions {
  /** Overrides `CLAWMESH_HOME` and the default. */
  stateDir?: string
  /** The environment to read (tests pass their own). @default process.env */
  env?: NodeJS.ProcessEnv
}

export interface ResolveSecretOptions extends StateDirOptions {
  /** An explicit secret: a key (swarm-key text, 64 hex digits, bytes), a keyring's text form, or `{ primary, accept }`. */
  secret?: SecretOption
}

/** The environment variable that moves the state directory. */
export const HOME_ENV = 'CLAWMESH_HOME'

/** The state directory, per the resolution order in this module's doc. */
export function resolveStateDir (options: StateDirOptions = {}): string {
  const env = options.env ?? process.env
  if (options.stateDir != null && options.stateDir !== '') return options.stateDir
  const home = env[HOME_ENV]
  if (home != null && home !== '') return home
  const xdg = env.XDG_STATE_HOME
  if (xdg != null && xdg !== '') return join(xdg, 'clawmesh')
  return join(homedir(), '.clawmesh')
}

/**
 * Find the mesh secret per the resolution order; create the key file when
 * none exists. Safe against several Gateways starting at once: the file is
 * written under a temporary name and hard-linked into place, so every
 * Gateway ends up reading the one winner's complete key. A key file (or state
 * folder) that other users can read or change is refused with an
 * `UnsafeFileError` (./file-safety.ts says why).
 */
export async function resolveSecret (options: ResolveSecretOptions = {}): Promise<ResolvedSecret> {
  if (options.secret != null) return resolved(keyringOf(options.secret), 'option')
  const fromEnv = takeEnvSecret(options.env)
  if (fromEnv != null && fromEnv.trim() !== '') {
    try {
      return resolved(keyringOf(fromEnv), 'env')
    } catch (err) {
      throw new InvalidSecretError(`${SECRET_ENV} is set but invalid: ${(err as Error).message}`)
    }
  }
  const dir = resolveStateDir(options)
  const path = join(dir, SECRET_FILE_NAME)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await assertPrivateDir(dir, 'the state folder')
  const existing = await readKeyFile(path)
  if (existing != null) return resolved(existing, 'file', path)

  const created = await writeFileAtomic(path, generateSecret() + '\n', { mode: 0o600, exclusive: true })
  const winner = await readKeyFile(path)
  if (winner == null) throw new Error(`the mesh key file ${path} vanished right after it was created`)
  return resolved(winner, created ? 'file-created' : 'file', path)
}

function resolved (keyring: MeshKeyring, source: SecretSource, path?: string): ResolvedSecret {
  const { psk, swarmKey, meshId } = keyring.primary
  return { psk, swarmKey, meshId, keyring, source, ...(path !== undefined ? { path } : {}) }
}

/** `CLAWMESH_SECRET` as this process was started with it, once read (see {@link takeEnvSecret}). */
let secretFromProcessEnv: string | undefined

/**
 * Reads `CLAWMESH_SECRET`. From the real environment it is also removed, so the
 * processes this Gateway starts (agents' tools, in plugin mode) do not inherit
 * it; this process keeps it in memory, so a mesh restarted in-process still
 * finds it. An `env` passed by a caller (tests) is read and left as it is.
 */
function takeEnvSecret (env: NodeJS.ProcessEnv | undefined): string | undefined {
  if (env !== undefined && env !== process.env) return env[SECRET_ENV]
  const value = process.env[SECRET_ENV]
  if (value !== undefined) {
    secretFromProcessEnv = value
    delete process.env[SECRET_ENV]
  }
  return secretFromProcessEnv
}

async function readKeyFile (path: string): Promise<MeshKeyring | undefined> {
  try {
    await assertPrivateFile(path, 'the mesh key file')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const text = await readFile(path, 'utf8')
  try {
    return parseKeyring(text)
  } catch (err) {
    throw new InvalidSecretError(`the mesh key file ${path} is invalid (${(err as Error).message}); fix or delete it`)
  }
}

/** The key file's permission bits, or undefined when it does not exist (for diagnostics). */
export async function keyFileMode (path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o777
  } catch {
    return undefined
  }
}
