/**
 * Invites: how a new Gateway joins with one pasted code (see `code.ts` for
 * what the code holds, `service.ts` for the inviter's side, `join.ts` for
 * the newcomer's, `store.ts` for what the newcomer keeps).
 */
import { MeshError } from '../errors.ts'
import { resolveSecret, resolveStateDir } from '../security/secret.ts'
import { decodeInvite } from './code.ts'
import { joinByInvite } from './join.ts'
import { loadJoin, saveJoin } from './store.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { SecretOption } from '../security/keyring.ts'

export { joinByInvite, type JoinOptions, type JoinResult } from './join.ts'
export { loadJoin, saveJoin, type JoinedRecord } from './store.ts'
export { decodeInvite, encodeInvite, type InviteCode } from './code.ts'

export interface PrepareJoinOptions {
  join?: string
  secret?: SecretOption
  stateDir?: string
}

/**
 * Before a node starts: redeems `join` unless this state directory already did (so a Gateway whose
 * config keeps the code restarts without it), and returns the peers to dial: those the inviter gave,
 * when the secret in use is this mesh's.
 */
export async function prepareJoin (options: PrepareJoinOptions, privateKey: PrivateKey): Promise<string[]> {
  const stateDir = resolveStateDir(options.stateDir !== undefined ? { stateDir: options.stateDir } : {})
  let record = await loadJoin(stateDir)
  if (options.join !== undefined) {
    const code = decodeInvite(options.join)
    if (record?.inviteId !== code.id) {
      if (options.secret !== undefined) throw new MeshError('BAD_REQUEST', 'give either `secret` or `join`, not both: joining stores the secret the inviter sends')
      const joined = await joinByInvite(options.join, { privateKey })
      record = { meshId: code.meshId, inviteId: code.id, inviter: code.peer, peers: joined.peers, joinedAt: Date.now() }
      await saveJoin(stateDir, joined.secret, record)
    }
  }
  if (record === undefined) return []
  const current = await resolveSecret({ ...(options.secret !== undefined ? { secret: options.secret } : {}), stateDir })
  if (current.meshId === record.meshId) return record.peers
  if (options.join !== undefined) {
    throw new MeshError('BAD_REQUEST', `this Gateway uses the secret of mesh ${current.meshId} (from ${current.source}), but joined mesh ${record.meshId}; unset CLAWMESH_SECRET or the secret option`)
  }
  return []
}
