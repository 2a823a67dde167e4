/**
 * The Gateway's identity on disk: its libp2p key (so a restart keeps its peer
 * ID) and an incarnation counter that always moves forward (so peers can tell a
 * restart from a late, relayed record of the previous run).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

const KEY_FILE = 'peer-key'
const INCARNATION_FILE = 'incarnation'

async function writeAtomic (path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, data, { mode: 0o600 })
  await rename(tmp, path)
}

/** Loads the key from `dataDir`, creating it on first use; no `dataDir` means a fresh key. */
export async function loadIdentity (dataDir: string | undefined): Promise<PrivateKey> {
  if (dataDir === undefined) return await generateKeyPair('Ed25519')
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const path = join(dataDir, KEY_FILE)
  try {
    return privateKeyFromProtobuf(await readFile(path))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const key = await generateKeyPair('Ed25519')
  await writeAtomic(path, privateKeyToProtobuf(key))
  return key
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
  await writeAtomic(path, String(next))
  return next
}
