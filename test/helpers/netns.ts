/**
 * A private LAN made of network namespaces, for tests that need several
 * "hosts" and real multicast (mDNS) without touching the machine's network.
 *
 *        host 1 (ns)        host 2 (ns)        host N (ns)
 *        eth0 10.x.y.1      eth0 10.x.y.2      eth0 10.x.y.N
 *           |                  |                  |
 *        veth ------------- br0 (bridge, in its own namespace) -----
 *
 * - The bridge lives in its own namespace, and no namespace has a default
 *   route or any link to the root namespace: nothing can leave the machine.
 * - Each host has loopback, eth0 and a multicast route (224.0.0.0/4 → eth0),
 *   unless created with `multicast: false`.
 * - Processes run inside a host with `ip netns exec`, in their own process
 *   group, with stdout/stderr collected line by line.
 * - `destroy()` kills every process started here (by PID/process group) and
 *   deletes every namespace. It also runs on process exit, SIGINT and SIGTERM,
 *   and namespaces left over by a crashed earlier run (creator PID gone) are
 *   swept when a new network is created.
 *
 * Faults (for test/netns/faults.test.ts): `impair()` delays, reorders and
 * drops a host's outgoing packets (`tc netem` on its eth0 when the kernel has
 * sch_netem; otherwise test/helpers/impair.py, a userspace relay spliced
 * between the host's veth and the bridge), `partition()`/`heal()` take its
 * link down and up; processes are killed, stopped and continued by PID with
 * `HostProcess.kill(signal)`.
 *
 * Needs root (CI and the dev machines run as root).
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** Every namespace we create starts with this, then `<creator pid>-`. */
const PREFIX = 'cmt'

export interface NetworkOptions {
  hosts: number
  /** Multicast route on every host. @default true */
  multicast?: boolean
}

export interface HostProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** Every stdout line so far. */
  readonly stdout: string[]
  /** Every stderr line so far. */
  readonly stderr: string[]
  /** Resolves with the first line of `stream` (default stdout) that `match` accepts (also past lines); rejects after `ms` or if the process exits first. */
  waitForLine: (match: (line: string) => boolean, ms: number, what: string, stream?: 'stdout' | 'stderr') => Promise<string>
  /** Write one line to stdin. */
  writeLine: (line: string) => void
  /** Resolves with the exit code (or signal). */
  readonly exited: Promise<number | string>
  kill: (signal?: NodeJS.Signals) => void
}

export interface Host {
  readonly name: string
  readonly ns: string
  readonly ip: string
  /** Run a command inside this host. */
  spawn: (command: string, args: string[], options?: { env?: NodeJS.ProcessEnv, cwd?: string }) => HostProcess
}

/** What `impair()` does to every packet a host sends. */
export interface Impairment {
  /** Added delay. @default 0 */
  delayMs?: number
  /** ± this much, uniformly (packets reorder, as with netem). @default 0 */
  jitterMs?: number
  /** Percentage of packets dropped. @default 0 */
  lossPercent?: number
}

export interface Network {
  readonly hosts: Host[]
  readonly bridgeNs: string
  /** Add another host to the LAN (e.g. a stranger). */
  addHost: (options?: { multicast?: boolean }) => Host
  /** Delay, reorder and drop what `host` sends (replaces an earlier impairment). Resolves once it is in place. */
  impair: (host: Host, impairment: Impairment) => Promise<void>
  /** Back to a clean link. */
  clearImpairment: (host: Host) => Promise<void>
  /** How the impairment is done on this kernel. */
  readonly impairMethod: () => 'netem' | 'relay'
  /** Take the host's link down: nothing in or out, connections hang (as a pulled cable). */
  partition: (host: Host) => void
  /** Bring the link back up. */
  heal: (host: Host) => void
  destroy: () => void
}

const live = new Set<{ namespaces: string[], processes: HostProcess[] }>()
let hooksInstalled = false

function ip (...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

const relayScript = fileURLToPath(new URL('./impair.py', import.meta.url))

/** Whether this kernel has sch_netem (probed once, in a throwaway namespace of ours). */
let netemAvailable: boolean | undefined
function hasNetem (tag: string): boolean {
  if (netemAvailable !== undefined) return netemAvailable
  const ns = `${tag}-probe`
  try {
    ip('netns', 'add', ns)
    ip('-n', ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1')
    execFileSync('tc', ['-n', ns, 'qdisc', 'add', 'dev', 'p0', 'root', 'netem', 'delay', '1ms'], { stdio: 'ignore' })
    netemAvailable = true
  } catch {
    netemAvailable = false
  } finally {
    try { ip('netns', 'del', ns) } catch { /* never created */ }
  }
  return netemAvailable
}

function installHooks (): void {
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', () => { for (const n of live) destroyState(n) })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const n of live) destroyState(n)
      process.kill(process.pid, signal)
    })
  }
}

function destroyState (state: { namespaces: string[], processes: HostProcess[] }): void {
  for (const p of state.processes) {
    try { process.kill(-p.pid, 'SIGKILL') } catch { /* already gone */ }
  }
  for (const ns of state.namespaces.reverse()) {
    try { ip('netns', 'del', ns) } catch { /* already gone */ }
  }
  state.namespaces.length = 0
  state.processes.length = 0
  live.delete(state)
}

/** Delete namespaces of earlier runs whose creator is dead. */
function sweepLeftovers (): void {
  let list: string
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
  } catch {
    return
  }
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0] ?? ''
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(ns)
    if (m == null) continue
    const pid = Number(m[1])
    let alive = true
    try { process.kill(pid, 0) } catch (err) { alive = (err as NodeJS.ErrnoException).code === 'EPERM' }
    if (!alive) {
      try { ip('netns', 'del', ns) } catch { /* raced */ }
    }
  }
}

/** Namespaces and processes of one test, deleted and killed by `destroy()` and on exit, SIGINT and SIGTERM. */
export interface NamespaceSet {
  /** A fresh name prefix (`cmt<pid>-<random>`), which the sweep of a later run recognises. */
  readonly tag: string
  /** Records a namespace (created by the caller) for deletion. */
  add: (ns: string) => void
  /** Runs a command inside one of them; the process is killed by `destroy()`. */
  spawn: (ns: string, command: string, args: string[], options?: { env?: NodeJS.ProcessEnv, cwd?: string }) => HostProcess
  destroy: () => void
}

/** A new {@link NamespaceSet} (also sweeps namespaces left by crashed runs). */
export function namespaceSet (): NamespaceSet {
  installHooks()
  sweepLeftovers()
  const state = { namespaces: [] as string[], processes: [] as HostProcess[] }
  live.add(state)
  return {
    tag: `${PREFIX}${process.pid}-${randomInt(1e6).toString(36)}`,
    add: (ns) => { state.namespaces.push(ns) },
    spawn: (ns, command, args, options = {}) => {
      const proc = spawnIn(ns, command, args, options)
      state.processes.push(proc)
      return proc
    },
    destroy: () => { destroyState(state) }
  }
}

/** Create the bridge and `hosts` hosts. Always call `destroy()` (in `after`/`finally`). */
export function createNetwork (options: NetworkOptions): Network {
  installHooks()
  sweepLeftovers()
  const tag = `${PREFIX}${process.pid}-${randomInt(1e6).toString(36)}`
  const subnet = `10.${randomInt(64, 250)}.${randomInt(1, 250)}`
  const state = { namespaces: [] as string[], processes: [] as HostProcess[] }
  live.add(state)
  const hosts: Host[] = []
  const bridgeNs = `${tag}-br`
  /** Userspace relays by host index (only without sch_netem). */
  const relays = new Map<number, HostProcess>()
  const indexOf = (host: Host): number => hosts.indexOf(host) + 1

  const addHost = (hostOptions: { multicast?: boolean } = {}): Host => {
    const index = hosts.length + 1
    const ns = `${tag}-h${index}`
    const hostIp = `${subnet}.${index}`
    ip('netns', 'add', ns)
    state.namespaces.push(ns)
    // Both ends are created directly inside their namespaces: nothing appears in the root namespace.
    ip('link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', `v${index}`, 'netns', bridgeNs)
    ip('-n', bridgeNs, 'link', 'set', `v${index}`, 'master', 'br0')
    ip('-n', bridgeNs, 'link', 'set', `v${index}`, 'up')
    ip('-n', ns, 'link', 'set', 'lo', 'up')
    ip('-n', ns, 'addr', 'add', `${hostIp}/24`, 'dev', 'eth0')
    ip('-n', ns, 'link', 'set', 'eth0', 'up')
    if (hostOptions.multicast ?? options.multicast ?? true) {
      ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0')
    } else {
      ip('-n', ns, 'link', 'set', 'eth0', 'multicast', 'off')
      ip('-n', ns, 'link', 'set', 'lo', 'multicast', 'off')
    }
    const host: Host = {
      name: `host${index}`,
      ns,
      ip: hostIp,
      spawn: (command, args, spawnOptions = {}) => {
        const proc = spawnIn(ns, command, args, spawnOptions)
        state.processes.push(proc)
        return proc
      }
    }
    hosts.push(host)
    return host
  }

  try {
    ip('netns', 'add', bridgeNs)
    state.namespaces.push(bridgeNs)
    ip('-n', bridgeNs, 'link', 'set', 'lo', 'up')
    ip('-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0')
    ip('-n', bridgeNs, 'link', 'set', 'br0', 'up')
    for (let i = 0; i < options.hosts; i++) addHost()
  } catch (err) {
    destroyState(state)
    throw err
  }

  const stopRelay = async (index: number): Promise<void> => {
    const relay = relays.get(index)
    if (relay === undefined) return
    relays.delete(index)
    relay.kill('SIGKILL')
    // Splice the host's veth straight back into the bridge, in one `ip` call, without waiting for the relay to exit.
    execFileSync('ip', ['-n', bridgeNs, '-batch', '-'], { input: `link del p${index}\nlink set v${index} master br0\n`, stdio: ['pipe', 'ignore', 'pipe'] })
    await relay.exited
  }

  const impair = async (host: Host, impairment: Impairment): Promise<void> => {
    const index = indexOf(host)
    const delay = impairment.delayMs ?? 0
    const jitter = impairment.jitterMs ?? 0
    const loss = impairment.lossPercent ?? 0
    if (hasNetem(tag)) {
      const args = ['-n', host.ns, 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', `${delay}ms`, `${jitter}ms`, 'loss', `${loss}%`]
      execFileSync('tc', args, { stdio: ['ignore', 'ignore', 'pipe'] })
      return
    }
    const params = JSON.stringify({ delay_ms: delay, jitter_ms: jitter, loss: loss / 100 })
    const running = relays.get(index)
    if (running !== undefined) {
      running.writeLine(params)
      return
    }
    // eth0 (host) ~ v<i> [relay] p<i> ~ q<i> - br0. The relay moves frames one by one, so every host must send
    // one segment per frame (no GSO super-frames, which a packet socket cannot send on); a lost frame is one MSS.
    for (const h of hosts) ip('-n', h.ns, 'link', 'set', 'eth0', 'gso_max_size', '1500')
    ip('-n', bridgeNs, 'link', 'add', `p${index}`, 'type', 'veth', 'peer', 'name', `q${index}`)
    ip('-n', bridgeNs, 'link', 'set', `q${index}`, 'up')
    ip('-n', bridgeNs, 'link', 'set', `p${index}`, 'up')
    // The relay starts while the host is still on the bridge (what it copies meanwhile ends at q<i>, which is on
    // no bridge yet); then both ends are swapped in one `ip` call. Starting Python takes 0.2-0.4 s here, more on a
    // loaded machine; with the host cut off meanwhile, TCP's retransmission backoff kept its links silent past the
    // peer-silence limit, every Gateway hung up on it, and the scenario measured a partition nobody asked for.
    const relay = spawnIn(bridgeNs, 'python3', [relayScript, `v${index}`, `p${index}`, params], {})
    state.processes.push(relay)
    relays.set(index, relay)
    await relay.waitForLine(l => l === 'ready', 10_000, `impairment relay for ${host.name}`)
    execFileSync('ip', ['-n', bridgeNs, '-batch', '-'], { input: `link set v${index} nomaster\nlink set q${index} master br0\n`, stdio: ['pipe', 'ignore', 'pipe'] })
  }

  return {
    hosts,
    bridgeNs,
    addHost,
    impair,
    clearImpairment: async (host) => {
      if (hasNetem(tag)) {
        try { execFileSync('tc', ['-n', host.ns, 'qdisc', 'del', 'dev', 'eth0', 'root'], { stdio: 'ignore' }) } catch { /* none */ }
        return
      }
      await stopRelay(indexOf(host))
    },
    impairMethod: () => hasNetem(tag) ? 'netem' : 'relay',
    partition: (host) => { ip('-n', bridgeNs, 'link', 'set', `v${indexOf(host)}`, 'down') },
    heal: (host) => { ip('-n', bridgeNs, 'link', 'set', `v${indexOf(host)}`, 'up') },
    destroy: () => { destroyState(state) }
  }
}

function spawnIn (ns: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv, cwd?: string }): HostProcess {
  const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // own process group, so destroy() can kill it and its children
    env: options.env ?? process.env,
    ...(options.cwd != null ? { cwd: options.cwd } : {})
  })
  if (child.pid == null) throw new Error(`could not start ${command} in ${ns}`)
  const stdout: string[] = []
  const stderr: string[] = []
  const lines = new EventTarget()
  createInterface({ input: child.stdout! }).on('line', (line) => { stdout.push(line); lines.dispatchEvent(new Event('line')) })
  createInterface({ input: child.stderr! }).on('line', (line) => { stderr.push(line); lines.dispatchEvent(new Event('line')) })
  let exitedWith: number | string | undefined
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      exitedWith = code ?? signal ?? 'unknown'
      lines.dispatchEvent(new Event('line'))
      resolve(exitedWith)
    })
  })
  child.stdin!.on('error', () => { /* the process exited; writes are moot */ })
  return {
    child,
    pid: child.pid,
    stdout,
    stderr,
    exited,
    writeLine: (line) => { child.stdin!.write(line + '\n') },
    kill: (signal = 'SIGTERM') => { try { process.kill(-child.pid!, signal) } catch { /* gone */ } },
    waitForLine: async (match, ms, what, stream = 'stdout') => {
      const source = stream === 'stdout' ? stdout : stderr
      let seen = 0
      return await new Promise<string>((resolve, reject) => {
        const check = (): void => {
          for (; seen < source.length; seen++) {
            if (match(source[seen]!)) { done(); resolve(source[seen]!); return }
          }
          if (exitedWith !== undefined) { done(); reject(new Error(`${what}: process exited (${exitedWith}) first; stderr:\n${stderr.slice(-20).join('\n')}`)) }
        }
        const timer = setTimeout(() => { done(); reject(new Error(`${what}: nothing after ${ms} ms; stderr:\n${stderr.slice(-20).join('\n')}`)) }, ms)
        const done = (): void => { clearTimeout(timer); lines.removeEventListener('line', check) }
        lines.addEventListener('line', check)
        check()
      })
    }
  }
}
