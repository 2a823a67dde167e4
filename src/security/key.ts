/**
 * One mesh key: a libp2p private-network (pnet) swarm key, 32 random bytes,
 * shared by the Gateways of a mesh. Parsing, formatting and the public mesh ID
 * derived from it. A Gateway may hold several (see ./keyring.ts).
 */

import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { generateKey } from '@libp2p/pnet'

/** A parsed mesh key. `psk` and `swarmKey` are secret; `meshId` is not. */
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

/** Name of the key file inside the state directory. */
export const SECRET_FILE_NAME = 'mesh.key'
/** The environment variable that carries a secret. */
export const SECRET_ENV = 'CLAWMESH_SECRET'

const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/'
const SWARM_KEY_CODEC = '/base16/'
const SWARM_KEY_BYTES = 95
/** Domain separation, so the mesh ID can never equal some other hash of the key. */
const MESH_ID_CONTEXT = 'clawmesh/mesh-id/v1\0'

/** Thrown for a secret that cannot be parsed (or a key file that is unsafe to use). The message says what was expected. */
export class InvalidSecretError extends Error {
  override name = 'InvalidSecretError'
}

/** A fresh random secret, as swarm-key text (what `clawmesh secret --new` prints). */
export function generateSecret (): string {
  const bytes = new Uint8Array(SWARM_KEY_BYTES)
  generateKey(bytes)
  return new TextDecoder().decode(bytes)
}

/** The three lines of the swarm-key format, for parsers that read several keys from one text. */
export const SWARM_KEY_LINES = { header: SWARM_KEY_HEADER, codec: SWARM_KEY_CODEC } as const

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
