/**
 * The mesh secret: a libp2p private-network (pnet) swarm key shared by every
 * Gateway of one mesh. Without it a peer cannot finish a connection handshake.
 *
 * Resolution order (first hit wins):
 * 1. the explicit `secret` option (swarm-key text, bare hex, or raw key bytes);
 * 2. the `CLAWMESH_SECRET` environment variable (same formats);
 * 3. the key file `<stateDir>/mesh.key`: read when it exists, otherwise created
 *    (mode 0600, atomically) by the first Gateway on the host.
 *
 * The state directory is: the `stateDir` option > `CLAWMESH_HOME` >
 * `$XDG_STATE_HOME/clawmesh` (when `XDG_STATE_HOME` is set) > `~/.clawmesh`.
 * An explicit option beats the environment, as for the secret itself.
 */

import { createHash, randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { generateKey } from '@libp2p/pnet'

/** Where a secret came from, for logs and `status()`. */
export type SecretSource = 'option' | 'env' | 'file' | 'file-created'

/** A parsed mesh secret. `psk` and `swarmKey` are secret; `meshId` is not. */
export interface MeshSecret {
  /** The 32 key bytes. */
  psk: Uint8Array
  /** The key in libp2p's swarm-key format, as `@libp2p/pnet` `preSharedKey({ psk })` wants it. */
  swarmKey: Uint8Array
  /**
   * A public name of the mesh derived one-way from the key: safe to show, put
   * in mDNS service tags and folder names; it reveals nothing of the key.
   */
  meshId: string
}

export interface ResolvedSecret extends MeshSecret {
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
  /** An explicit secret: swarm-key text, bare 64-hex-digit key, or the swarm-key bytes. */
  secret?: string | Uint8Array
}

/** Name of the key file inside the state directory. */
export const SECRET_FILE_NAME = 'mesh.key'
/** The environment variable that carries a secret. */
export const SECRET_ENV = 'CLAWMESH_SECRET'
/** The environment variable that moves the state directory. */
export const HOME_ENV = 'CLAWMESH_HOME'

const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/'
const SWARM_KEY_CODEC = '/base16/'
const SWARM_KEY_BYTES = 95
/** Domain separation, so the mesh ID can never equal some other hash of the key. */
const MESH_ID_CONTEXT = 'clawmesh/mesh-id/v1\0'

/** Thrown for a secret that cannot be parsed. The message says what was expected. */
export class InvalidSecretError extends Error {
  override name = 'InvalidSecretError'
}

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

/** A fresh random secret, as swarm-key text (what `clawmesh secret --new` prints). */
export function generateSecret (): string {
  const bytes = new Uint8Array(SWARM_KEY_BYTES)
  generateKey(bytes)
  return new TextDecoder().decode(bytes)
}

/**
 * Parse a secret as a person would paste it: the full swarm-key text (three
 * lines), a bare 64-digit hex key, or the swarm-key bytes. Whitespace around
 * it and Windows line ends are tolerated.
 */
export function parseSecret (input: string | Uint8Array): MeshSecret {
  const text = (typeof input === 'string' ? input : new TextDecoder().decode(input)).trim()
  let hex: string
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    hex = text
  } else {
    const lines = text.split(/\r?\n/).map(l => l.trim()).filter(l => l !== '')
    if (lines.length !== 3 || lines[0] !== SWARM_KEY_HEADER || lines[1] !== SWARM_KEY_CODEC || !/^[0-9a-fA-F]{64}$/.test(lines[2] ?? '')) {
      throw new InvalidSecretError(`a mesh secret is either 64 hex digits or a swarm key (three lines: ${SWARM_KEY_HEADER}, ${SWARM_KEY_CODEC}, 64 hex digits); got ${text.length} characters that are neither. Print a valid one with \`clawmesh secret\` on a member machine`)
    }
    hex = lines[2] as string
  }
  hex = hex.toLowerCase()
  const psk = Uint8Array.from(Buffer.from(hex, 'hex'))
  return {
    psk,
    swarmKey: new TextEncoder().encode(`${SWARM_KEY_HEADER}\n${SWARM_KEY_CODEC}\n${hex}`),
    meshId: meshIdOf(psk)
  }
}

/** The swarm-key text of a secret (what goes into `mesh.key`). */
export function formatSecret (secret: MeshSecret): string {
  return new TextDecoder().decode(secret.swarmKey)
}

/**
 * The compact form to carry a secret to another machine: 64 hex digits, which
 * `CLAWMESH_SECRET`, the `secret` option and {@link parseSecret} all accept.
 */
export function exportSecret (secret: MeshSecret): string {
  return Buffer.from(secret.psk).toString('hex')
}

/** Instructions a person can follow to make another machine join this mesh. */
export function shareInstructions (secret: MeshSecret): string {
  const hex = exportSecret(secret)
  return [
    `Mesh ${secret.meshId}. Keep this secret: anyone who has it can join the mesh.`,
    'On the other machine, either set the environment variable',
    `  ${SECRET_ENV}=${hex}`,
    `or write the following three lines to ${join('~/.clawmesh', SECRET_FILE_NAME)} (mode 0600):`,
    formatSecret(secret)
  ].join('\n')
}

/** The public mesh ID of a key: 16 hex digits of SHA-256 over a context string and the key. */
export function meshIdOf (psk: Uint8Array): string {
  return createHash('sha256').update(MESH_ID_CONTEXT).update(psk).digest('hex').slice(0, 16)
}

/**
 * Find the mesh secret per the resolution order; create the key file when
 * none exists. Safe against several Gateways starting at once: the file is
 * written under a temporary name and hard-linked into place, so every
 * Gateway ends up reading the one winner's complete key.
 */
export async function resolveSecret (options: ResolveSecretOptions = {}): Promise<ResolvedSecret> {
  if (options.secret != null) {
    return { ...parseSecret(options.secret), source: 'option' }
  }
  const env = options.env ?? process.env
  const fromEnv = env[SECRET_ENV]
  if (fromEnv != null && fromEnv.trim() !== '') {
    try {
      return { ...parseSecret(fromEnv), source: 'env' }
    } catch (err) {
      throw new InvalidSecretError(`${SECRET_ENV} is set but invalid: ${(err as Error).message}`)
    }
  }
  const dir = resolveStateDir(options)
  const path = join(dir, SECRET_FILE_NAME)
  const existing = await readKeyFile(path)
  if (existing != null) return { ...existing, source: 'file', path }

  await mkdir(dir, { recursive: true, mode: 0o700 })
  const created = await createKeyFile(path)
  const winner = await readKeyFile(path)
  if (winner == null) throw new Error(`the mesh key file ${path} vanished right after it was created`)
  return { ...winner, source: created ? 'file-created' : 'file', path }
}

async function readKeyFile (path: string): Promise<MeshSecret | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  try {
    return parseSecret(text)
  } catch (err) {
    throw new InvalidSecretError(`the mesh key file ${path} is invalid (${(err as Error).message}); fix or delete it`)
  }
}

/** Write a fresh key to `path` unless one exists. Returns whether we created it. */
async function createKeyFile (path: string): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600)
  try {
    try {
      await handle.writeFile(generateSecret() + '\n')
      await handle.sync()
    } finally {
      await handle.close()
    }
    // The umask may have narrowed the mode further, never widened it; make it exact.
    await chmod(tmp, 0o600)
    try {
      // link() fails when the target exists: exactly one creator wins, and the
      // file is complete the instant its name appears.
      await link(tmp, path)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw err
    }
  } finally {
    await unlink(tmp).catch(() => {})
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
