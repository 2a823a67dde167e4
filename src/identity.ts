/**
 * The Gateway's identity on disk: its libp2p key (so a restart keeps its peer
 * ID) and an incarnation counter that always moves forward (so peers can tell a
 * restart from a late, relayed record of the previous run).
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { assertPrivateDir, assertPrivateFile } from './security/file-safety.ts'
import { writeFileAtomic } from './util/atomic-write.ts'
import type { PrivateKey } from '@libp2p/interface'

const KEY_FILE = 'peer-key'
const INCARNATION_FILE = 'incarnation'

/**
 * Loads the key from `dataDir`, creating it on first use; no `dataDir` means a fresh key.
 * The folder and the key must be private to this user (`UnsafeFileError` otherwise). Of two
 * processes creating the key at once, one wins and both use its key.
 */
export async function loadIdentity (dataDir: string | undefined): Promise<PrivateKey> {
  if (dataDir === undefined) return await generateKeyPair('Ed25519')
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  await assertPrivateDir(dataDir, 'the data folder')
  const path = join(dataDir, KEY_FILE)
  const existing = await readKey(path)
  if (existing !== undefined) return existing
  await writeFileAtomic(path, privateKeyToProtobuf(await generateKeyPair('Ed25519')), { mode: 0o600, exclusive: true })
  const winner = await readKey(path)
  if (winner === undefined) throw new Error(`the peer key ${path} vanished right after it was created`)
  return winner
}

async function readKey (path: string): Promise<PrivateKey | undefined> {
  try {
    await assertPrivateFile(path, 'the peer key')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  return privateKeyFromProtobuf(await readFile(path))
}

/** A new incarnation: now, or one past the last one if the clock went backwards. */
export async function nextIncarnation (dataDir: string | undefined): Promise<number> {
  const now = Date.now()
  if (dataDir === undefined) return now
  const path = join(dataDir, INCARNATION_FILE)
  let last = 0
  try {
    last = Number.parseInt(await readFile(path, 'utf8'), 10) || 0
  } catch {
    // First start (or an unreadable file): the clock alone decides.
  }
  const next = Math.max(now, last + 1)
  await writeFileAtomic(path, String(next))
  return next
}
