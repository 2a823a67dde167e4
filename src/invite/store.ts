/**
 * What a joined Gateway keeps in its state directory:
 *
 * - `mesh.key` (mode 0600): the mesh secret its inviter handed over, written
 *   the way a first Gateway creates one (`writeFileAtomic`, exclusively);
 * - `joined.json` (mode 0600): which invite it used, the mesh ID and the
 *   inviter's addresses, which `createMesh` dials on every start (so the
 *   Gateway comes back into the mesh after a restart without the code).
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MeshError } from '../errors.ts'
import { formatSecret, resolveSecret, SECRET_FILE_NAME, type MeshSecret } from '../security/secret.ts'
import { writeFileAtomic } from '../util/atomic-write.ts'

export const JOINED_FILE_NAME = 'joined.json'

export interface JoinedRecord {
  meshId: string
  /** The invite that was redeemed. */
  inviteId: string
  /** The inviter's peer ID. */
  inviter: string
  /** Where to connect on start: the addresses the inviter gave. */
  peers: string[]
  joinedAt: number
}

/**
 * Stores the secret (refusing to replace another mesh's) and the join record. Returns the key file's path.
 * A state directory that already holds this mesh's secret keeps it.
 */
export async function saveJoin (stateDir: string, secret: MeshSecret, record: JoinedRecord): Promise<string> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 })
  const path = join(stateDir, SECRET_FILE_NAME)
  if (!await writeFileAtomic(path, formatSecret(secret) + '\n', { mode: 0o600, exclusive: true })) {
    const existing = await resolveSecret({ stateDir, env: {} })
    if (existing.meshId !== secret.meshId) {
      throw new MeshError('BAD_REQUEST', `${path} already holds the secret of mesh ${existing.meshId}; this invite is for mesh ${secret.meshId}. Join with another state directory (--state-dir), or move that key away if this Gateway should leave its mesh`)
    }
  }
  await writeFileAtomic(join(stateDir, JOINED_FILE_NAME), JSON.stringify(record, null, 2) + '\n', { mode: 0o600 })
  return path
}

/** The join record, or undefined when this state directory never joined by invite (or it is unreadable). */
export async function loadJoin (stateDir: string): Promise<JoinedRecord | undefined> {
  let text: string
  try {
    text = await readFile(join(stateDir, JOINED_FILE_NAME), 'utf8')
  } catch {
    return undefined
  }
  try {
    const r = JSON.parse(text) as Partial<JoinedRecord>
    if (typeof r.meshId !== 'string' || typeof r.inviteId !== 'string' || typeof r.inviter !== 'string' || !Array.isArray(r.peers) || !r.peers.every(p => typeof p === 'string')) return undefined
    return { meshId: r.meshId, inviteId: r.inviteId, inviter: r.inviter, peers: r.peers.slice(0, 16), joinedAt: typeof r.joinedAt === 'number' ? r.joinedAt : 0 }
  } catch {
    return undefined
  }
}
