/**
 * Sites behind NAT routers and a relay host on a shared "internet", all in
 * network namespaces made here (after ../shared/tools/netns-sites):
 *
 *                      internet 11.11.0.0/24 (a bridge in its own namespace)
 *          relay 11.11.0.10        router A 11.11.0.1        router B 11.11.0.2   …
 *                                  | NAT                     | NAT
 *                                  site A 10.1.0.0/24        site B 10.2.0.0/24
 *                                  host 10.1.0.10            host 10.2.0.10
 *
 * - The "internet" uses a public-looking range on purpose: libp2p treats every
 *   private and documentation range (10/8, 100.64/10, 198.18/15, the TEST-NETs)
 *   as never reachable from outside, so it would neither record an observed
 *   address nor offer one to a hole punch. Nothing leaves: no namespace has a
 *   link to the machine's network, and none has a route beyond its subnets.
 * - Each router masquerades what leaves its site and forwards nothing new
 *   inbound (a home router). `cone` keeps source ports (Linux's default
 *   masquerade; endpoint-independent mapping): hole punching can work.
 *   `symmetric` picks a random port per connection (`fully-random`): it cannot.
 * - Routers drop unsolicited packets to themselves rather than answer them
 *   with a TCP reset, as most home routers do. A router that resets would kill
 *   the first SYN of a simultaneous open before the other side's SYN opens
 *   its own NAT, so a punch would depend on which SYN wins the race.
 *
 * Needs root and nft (nftables; `.ci/run` installs it when missing).
 */
import { execFileSync } from 'node:child_process'
import { namespaceSet, type Host, type HostProcess } from './netns.ts'

export type NatType = 'cone' | 'symmetric'

export interface SiteSpec {
  name: string
  nat: NatType
}

export interface Sites {
  relay: Host
  /** The host inside each site, by site name. */
  hosts: Record<string, Host>
  /** The routers' public addresses, by site name. */
  publicIp: Record<string, string>
  destroy: () => void
}

const INTERNET = '11.11.0'

function run (command: string, args: string[], input?: string): void {
  execFileSync(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'], ...(input !== undefined ? { input } : {}) })
}

/** The router's rules: masquerade out of `wan`, a stateful firewall in. */
function routerRules (nat: NatType): string {
  return `
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade${nat === 'symmetric' ? ' fully-random' : ''}
  }
}
table ip filter {
  chain forward_chain {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" accept
  }
  chain input_chain {
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state established,related accept
    iifname "wan" drop
  }
}
`
}

/** Builds the relay host and one NATed site per spec. Always call `destroy()`. */
export function createSites (specs: SiteSpec[]): Sites {
  const set = namespaceSet()
  const ns = (n: string): string => `${set.tag}-${n}`
  const host = (name: string, namespace: string, ip: string): Host => ({
    name, ns: namespace, ip, spawn: (command: string, args: string[], options?: { env?: NodeJS.ProcessEnv, cwd?: string }): HostProcess => set.spawn(namespace, command, args, options)
  })
  const add = (n: string): string => {
    const name = ns(n)
    run('ip', ['netns', 'add', name])
    set.add(name)
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
    return name
  }
  try {
    const inet = add('inet')
    run('ip', ['-n', inet, 'link', 'add', 'br0', 'type', 'bridge'])
    run('ip', ['-n', inet, 'link', 'set', 'br0', 'up'])
    let port = 0
    /** A veth from `namespace` (named `ifname`, address `cidr`) to the internet bridge. */
    const wan = (namespace: string, ifname: string, cidr: string): void => {
      const peer = `p${port++}`
      run('ip', ['link', 'add', ifname, 'netns', namespace, 'type', 'veth', 'peer', 'name', peer, 'netns', inet])
      run('ip', ['-n', inet, 'link', 'set', peer, 'master', 'br0'])
      run('ip', ['-n', inet, 'link', 'set', peer, 'up'])
      run('ip', ['-n', namespace, 'addr', 'add', cidr, 'dev', ifname])
      run('ip', ['-n', namespace, 'link', 'set', ifname, 'up'])
    }
    const relayNs = add('relay')
    wan(relayNs, 'eth0', `${INTERNET}.10/24`)
    const hosts: Record<string, Host> = {}
    const publicIp: Record<string, string> = {}
    specs.forEach((spec, i) => {
      const router = add(`r${spec.name}`)
      const inside = add(spec.name)
      const routerIp = `${INTERNET}.${i + 1}`
      const lan = `10.${i + 1}.0`
      wan(router, 'wan', `${routerIp}/24`)
      run('ip', ['link', 'add', 'eth0', 'netns', inside, 'type', 'veth', 'peer', 'name', 'lan', 'netns', router])
      run('ip', ['-n', inside, 'addr', 'add', `${lan}.10/24`, 'dev', 'eth0'])
      run('ip', ['-n', inside, 'link', 'set', 'eth0', 'up'])
      run('ip', ['-n', inside, 'route', 'add', 'default', 'via', `${lan}.1`])
      run('ip', ['-n', router, 'addr', 'add', `${lan}.1/24`, 'dev', 'lan'])
      run('ip', ['-n', router, 'link', 'set', 'lan', 'up'])
      run('ip', ['netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
      run('ip', ['netns', 'exec', router, 'nft', '-f', '-'], routerRules(spec.nat))
      hosts[spec.name] = host(spec.name, inside, `${lan}.10`)
      publicIp[spec.name] = routerIp
    })
    return { relay: host('relay', relayNs, `${INTERNET}.10`), hosts, publicIp, destroy: set.destroy }
  } catch (err) {
    set.destroy()
    throw err
  }
}

/** Whether this machine can build sites (root, nft, and NAT in network namespaces). */
export function sitesSupported (): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)'
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' })
  } catch {
    return 'needs nft (apt-get install nftables)'
  }
  return undefined
}
