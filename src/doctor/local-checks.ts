/**
 * Checks of this machine alone: the Node.js running clawmesh, the state
 * folder, the key file (permissions, owner, content) and the rendezvous
 * folder of same-host discovery (who is in it, alive or stale).
 */
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { DEFAULT_LOCAL_STALE_MS, isAlive, readEntry, type RendezvousEntry } from '../discovery/local.ts'
import { keyringOf } from '../security/keyring.ts'
import { SECRET_ENV, SECRET_FILE_NAME, type MeshSecret } from '../security/secret.ts'
import { check, type Check } from './report.ts'

/** The secret this machine's tools use when no node tells them otherwise. */
export interface LocalSecret {
  secret: MeshSecret
  source: 'env' | 'file'
  path?: string
}


export function checkNode (versions: NodeJS.ProcessVersions = process.versions): Check {
  const [major = 0] = versions.node.split('.').map(Number)
  if (major < 22) {
    return check('node', 'Node.js', 'fail', `${versions.node}: clawmesh needs 22 or newer (libp2p needs Promise.withResolvers)`, 'put Node 24 first on PATH: `. scripts/ensure-node.sh` in a checkout, or install it from nodejs.org')
  }
  return check('node', 'Node.js', 'ok', `${versions.node} (clawmesh needs 22 or newer)`)
}

/** `uid 1000 (alice)`, or `you`. */
async function ownerName (uid: number): Promise<string> {
  if (uid === process.getuid?.()) return 'you'
  try {
    const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find(l => l.split(':')[2] === String(uid))
    const name = line?.split(':')[0]
    return name !== undefined ? `uid ${uid} (${name})` : `uid ${uid}`
  } catch {
    return `uid ${uid}`
  }
}

const octal = (mode: number): string => (mode & 0o777).toString(8).padStart(3, '0')

export async function checkStateDir (stateDir: string): Promise<Check> {
  const title = 'state folder'
  let s
  try {
    s = await stat(stateDir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return check('state-dir', title, 'ok', `${stateDir} does not exist yet (the first \`clawmesh run\` creates it, mode 700)`)
    }
    return check('state-dir', title, 'fail', `${stateDir} cannot be read: ${(err as Error).message}`, `run doctor as the user who owns ${stateDir}`)
  }
  if (!s.isDirectory()) return check('state-dir', title, 'fail', `${stateDir} is not a folder`, `move it away; clawmesh keeps its key and sockets in a folder there`)
  const owner = await ownerName(s.uid)
  const where = `${stateDir} (mode ${octal(s.mode)}, owner ${owner})`
  if ((s.mode & 0o022) !== 0) {
    return check('state-dir', title, 'fail', `${where} can be written by other users: they could replace the key file or the control sockets`, `chmod 700 ${stateDir}`)
  }
  if (owner !== 'you' && s.uid !== 0) {
    // The library refuses it (UnsafeFileError): that user controls the key in it.
    return check('state-dir', title, 'fail', `${where} belongs to someone else: they control the key file in it, and clawmesh refuses to use it`, `run clawmesh as ${owner}, or give yourself your own folder with CLAWMESH_HOME`)
  }
  if (owner !== 'you') {
    return check('state-dir', title, 'warn', `${where} belongs to root: the nodes of root and yours would share it`, `give yourself your own folder with CLAWMESH_HOME`)
  }
  if ((s.mode & 0o077) !== 0) {
    return check('state-dir', title, 'warn', `${where} can be listed by other users (the rendezvous entries and socket names)`, `chmod 700 ${stateDir}`)
  }
  return check('state-dir', title, 'ok', where)
}

/** The key file (or `CLAWMESH_SECRET`): readable only by its owner, owned by us, a valid secret. */
export async function checkKeyFile (stateDir: string, env: NodeJS.ProcessEnv): Promise<{ check: Check, local?: LocalSecret }> {
  const title = 'key file'
  const path = join(stateDir, SECRET_FILE_NAME)
  const fromEnv = env[SECRET_ENV]
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    let secret: MeshSecret
    try {
      secret = keyringOf(fromEnv).primary
    } catch {
      return { check: check('key-file', title, 'fail', `${SECRET_ENV} is set but is not a mesh secret`, `unset it, or set it to the 64 hex digits \`clawmesh secret\` prints on a member machine`) }
    }
    // The variable wins, but a key file others can read still gives a secret away.
    const file = await checkKeyFile(stateDir, {})
    if (file.check.status === 'fail' && file.check.fix?.startsWith('chmod') === true) return { check: file.check, local: { secret, source: 'env' } }
    return { check: check('key-file', title, 'ok', `${SECRET_ENV} is set (mesh ${secret.meshId}); it wins over ${path}`), local: { secret, source: 'env' } }
  }
  let s
  try {
    s = await stat(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { check: check('key-file', title, 'warn', `${path} does not exist: the first node started here creates a new secret, a mesh of its own`, `to join an existing mesh, install its secret first (\`clawmesh secret\` on a member prints how)`) }
    }
    return { check: check('key-file', title, 'fail', `${path} cannot be read: ${(err as Error).message}`, `run doctor as the user who owns ${path}`) }
  }
  const owner = await ownerName(s.uid)
  const where = `${path} (mode ${octal(s.mode)}, owner ${owner})`
  let secret: MeshSecret | undefined
  let problem: string | undefined
  try {
    // A key file may hold a keyring (the primary first): the primary is the mesh this node dials.
    secret = keyringOf(await readFile(path, 'utf8')).primary
  } catch (err) {
    problem = (err as NodeJS.ErrnoException).code === 'EACCES' ? 'cannot be read by you' : 'does not hold a valid mesh secret'
  }
  const local: LocalSecret | undefined = secret !== undefined ? { secret, source: 'file', path } : undefined
  const result = (c: Check): { check: Check, local?: LocalSecret } => local !== undefined ? { check: c, local } : { check: c }
  if ((s.mode & 0o077) !== 0) {
    const who = (s.mode & 0o007) !== 0 ? 'every user on this machine' : 'its group'
    return result(check('key-file', title, 'fail', `${where} can be read by ${who}: whoever reads it can join your mesh`, `chmod 600 ${path}`))
  }
  if (problem !== undefined) {
    return result(check('key-file', title, 'fail', `${where} ${problem}`, problem.startsWith('cannot') ? `run clawmesh as ${owner}` : `replace it with the secret of your mesh (\`clawmesh secret\` on a member prints it), or delete it to start a new mesh`))
  }
  if (owner !== 'you') {
    // Root's is accepted by the library; anyone else's is refused (UnsafeFileError).
    return result(check('key-file', title, s.uid === 0 ? 'warn' : 'fail', `${where} belongs to someone else${s.uid === 0 ? '' : ': clawmesh refuses to use it'}`, `chown it to the user who runs clawmesh`))
  }
  return result(check('key-file', title, 'ok', `${where}, mesh ${secret?.meshId ?? '?'}`))
}

export interface RendezvousFinding {
  meshId: string
  entry: RendezvousEntry
  file: string
  /** Undefined when alive. */
  stale?: string
}

/** Every entry in every mesh's rendezvous folder of the state folder. */
export async function readRendezvous (stateDir: string, now = Date.now()): Promise<RendezvousFinding[]> {
  const root = join(stateDir, 'rendezvous')
  const found: RendezvousFinding[] = []
  let meshes: string[]
  try {
    meshes = await readdir(root)
  } catch {
    return found
  }
  for (const meshId of meshes.sort()) {
    let names: string[]
    try {
      names = await readdir(join(root, meshId))
    } catch {
      continue
    }
    for (const name of names.sort()) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue
      const file = join(root, meshId, name)
      const entry = await readEntry(file)
      if (entry === undefined) continue
      const stale = !isAlive(entry.pid)
        ? `process ${entry.pid} is gone`
        : now - entry.updatedAt > DEFAULT_LOCAL_STALE_MS ? `not refreshed for ${Math.round((now - entry.updatedAt) / 1000)} s` : undefined
      found.push({ meshId, entry, file, ...(stale !== undefined ? { stale } : {}) })
    }
  }
  return found
}

/**
 * The rendezvous folder of `meshId`: who is in it, and whether a node of
 * another mesh runs on this host (it never connects to ours).
 */
export function judgeRendezvous (findings: RendezvousFinding[], meshId: string, names: Map<string, string>, local: boolean): Check {
  const title = 'rendezvous folder'
  const label = (f: RendezvousFinding): string => `${names.get(f.entry.peerId) ?? f.entry.peerId} (pid ${f.entry.pid})`
  const ours = findings.filter(f => f.meshId === meshId)
  const live = ours.filter(f => f.stale === undefined)
  const stale = ours.filter(f => f.stale !== undefined)
  const strangers = findings.filter(f => f.meshId !== meshId && f.stale === undefined)
  const details = [
    ...live.map(f => `live   ${label(f)} at ${f.entry.addrs.join(' ')}`),
    ...stale.map(f => `stale  ${label(f)}: ${f.stale ?? ''}`),
    ...strangers.map(f => `other mesh ${f.meshId}: ${label(f)}`)
  ]
  const summary = `mesh ${meshId}: ${live.length} live entr${live.length === 1 ? 'y' : 'ies'}${stale.length > 0 ? `, ${stale.length} stale` : ''}${local ? '' : ' (same-host discovery is off on the node)'}`
  if (strangers.length > 0) {
    const other = [...new Set(strangers.map(f => f.meshId))].join(', ')
    return check('rendezvous', title, 'warn', `${summary}; a node of another mesh (${other}) runs on this host and can never connect to this one`,
      'give every Gateway the same secret (`clawmesh secret` prints this mesh\'s), or stop the stray node', details)
  }
  if (stale.length > 0) {
    return check('rendezvous', title, 'warn', `${summary}: entries of processes that are gone`, `a running node removes them within seconds; otherwise delete ${stale.map(f => f.file).join(' ')}`, details)
  }
  return check('rendezvous', title, 'ok', summary, undefined, details)
}
