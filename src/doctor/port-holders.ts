/**
 * Who else holds a UDP port (for mDNS: 5353), from Linux's /proc: the sockets
 * bound to the port (`/proc/net/udp`, `udp6`) and the processes whose open
 * files include them. Elsewhere, or for processes of other users when not
 * root, less is known; the answer says so rather than guessing.
 */
import { readFile, readdir, readlink } from 'node:fs/promises'

export interface PortHolder {
  /** Undefined when the socket's process could not be found (another user's, or no /proc/<pid>/fd access). */
  pid?: number
  /** The process's command name (`avahi-daemon`). */
  command?: string
}

/** Socket inodes bound to `port` on any address, from /proc/net/udp{,6}; undefined without /proc. */
async function socketInodes (port: number): Promise<Set<string> | undefined> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  const inodes = new Set<string>()
  let readable = false
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string
    try {
      text = await readFile(table, 'utf8')
      readable = true
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
      if (cols[1]?.split(':')[1] === hexPort && cols[9] !== undefined && cols[9] !== '0') inodes.add(cols[9])
    }
  }
  return readable ? inodes : undefined
}

/** The processes holding UDP `port`, except `exceptPid` (ourselves); undefined where /proc does not tell. */
export async function udpPortHolders (port: number, exceptPid = process.pid): Promise<PortHolder[] | undefined> {
  const inodes = await socketInodes(port)
  if (inodes === undefined) return undefined
  const holders: PortHolder[] = []
  const found = new Set<string>()
  let pids: string[]
  try {
    pids = (await readdir('/proc')).filter(p => /^\d+$/.test(p))
  } catch {
    pids = []
  }
  for (const pid of pids) {
    if (Number(pid) === exceptPid || found.size === inodes.size) continue
    let fds: string[]
    try {
      fds = await readdir(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
      if (inode === undefined || !inodes.has(inode)) continue
      found.add(inode)
      const command = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim()
      holders.push({ pid: Number(pid), ...(command !== '' ? { command } : {}) })
      break
    }
  }
  // Sockets we could not tie to a process (and that are not ours: we hold none while this runs).
  const ownInodes = exceptPid === process.pid ? await ownSocketInodes() : new Set<string>()
  for (const inode of inodes) if (!found.has(inode) && !ownInodes.has(inode)) holders.push({})
  return holders
}

async function ownSocketInodes (): Promise<Set<string>> {
  const own = new Set<string>()
  const fds = await readdir('/proc/self/fd').catch(() => [] as string[])
  for (const fd of fds) {
    const inode = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/self/fd/${fd}`).catch(() => ''))?.[1]
    if (inode !== undefined) own.add(inode)
  }
  return own
}

/** `avahi-daemon (pid 812)`, `a process of another user`. */
export function describeHolder (h: PortHolder): string {
  if (h.pid === undefined) return 'a process this user cannot see'
  return `${h.command ?? 'process'} (pid ${h.pid})`
}
