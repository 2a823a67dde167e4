/**
 * The mDNS self-test: one query for the mesh's service tag, as a Gateway's
 * mDNS service sends it, then listen. Our own query coming back proves that
 * multicast leaves and reaches this host (the kernel loops it back only when
 * it has a multicast route); each member's answer names a Gateway of this mesh
 * that LAN discovery would find.
 *
 * Built on `multicast-dns` (what `@libp2p/mdns` runs on) rather than a libp2p
 * node with mDNS: a node would answer other members' queries and they would
 * dial a phantom peer that is gone a second later. This probe only asks.
 */
import { randomInt } from 'node:crypto'
import makeMdns from 'multicast-dns'
import { mdnsServiceTag } from '../discovery/mdns.ts'

export interface MdnsAnswer {
  peerId: string
  addrs: string[]
  /** The source address of the answer. */
  from: string
}

export interface MdnsProbeResult {
  serviceTag: string
  /** The mDNS port could not be bound (`EADDRINUSE`: taken by a responder that does not share it; `EACCES`). */
  bindError?: string
  /** Sending the query failed (`ENETUNREACH`: no route for multicast). */
  sendError?: string
  /** Our own query came back. */
  looped: boolean
  /** Members of this mesh that answered, one per peer ID. */
  answers: MdnsAnswer[]
}

export interface MdnsProbeOptions {
  meshId: string
  /** How long to listen for our query and the answers. @default 2000 */
  listenMs?: number
  /** @default 5353 */
  port?: number
  /** @default '224.0.0.251' */
  ip?: string
}

type Mdns = ReturnType<typeof makeMdns>
type Response = Parameters<Parameters<Mdns['on']>[1]>[0]

export async function probeMdns (options: MdnsProbeOptions): Promise<MdnsProbeResult> {
  const serviceTag = mdnsServiceTag(options.meshId)
  const result: MdnsProbeResult = { serviceTag, looped: false, answers: [] }
  const id = randomInt(1, 0xffff)
  const mdns = makeMdns({ port: options.port ?? 5353, ip: options.ip ?? '224.0.0.251' })
  const answers = new Map<string, MdnsAnswer>()
  const listenMs = options.listenMs ?? 2_000
  try {
    await new Promise<void>((resolve) => {
      const timers: Array<ReturnType<typeof setTimeout>> = []
      const finish = (): void => { for (const t of timers) clearTimeout(t); resolve() }
      mdns.on('error', (err: NodeJS.ErrnoException) => {
        result.bindError = err.code ?? err.message
        finish()
      })
      mdns.on('query', (query: { id?: number, questions?: Array<{ name?: string }> }) => {
        if (query.id === id && query.questions?.[0]?.name === serviceTag) result.looped = true
      })
      mdns.on('response', (response: Response, rinfo: { address: string }) => {
        const answer = parseAnswer(response, serviceTag, rinfo.address)
        if (answer !== undefined) answers.set(answer.peerId, answer)
      })
      const ask = (): void => {
        mdns.query({ id, questions: [{ name: serviceTag, type: 'PTR' }] }, (err: Error | null) => {
          if (err != null) result.sendError ??= (err as NodeJS.ErrnoException).code ?? err.message
        })
      }
      mdns.once('ready', () => {
        ask()
        // Once more halfway, in case the first packet was lost.
        timers.push(setTimeout(ask, listenMs / 2))
        timers.push(setTimeout(finish, listenMs))
      })
    })
  } finally {
    await new Promise<void>(resolve => { mdns.destroy(() => { resolve() }) })
  }
  result.answers = [...answers.values()]
  return result
}

/** A libp2p mDNS answer for our tag: its peer ID and `dnsaddr=` multiaddrs (TXT records). */
function parseAnswer (response: Response, serviceTag: string, from: string): MdnsAnswer | undefined {
  const records = [...(response.answers ?? []), ...(response.additionals ?? [])]
  if (!records.some(r => r.type === 'PTR' && r.name === serviceTag)) return undefined
  const addrs: string[] = []
  for (const r of records) {
    if (r.type !== 'TXT') continue
    const data = Array.isArray(r.data) ? r.data : [r.data]
    for (const d of data) {
      const text = d.toString()
      if (text.startsWith('dnsaddr=')) addrs.push(text.slice('dnsaddr='.length))
    }
  }
  const peerId = addrs.map(a => /\/p2p\/([^/]+)$/.exec(a)?.[1]).find(p => p !== undefined)
  if (peerId === undefined) return undefined
  return { peerId, addrs: addrs.map(a => a.replace(/\/p2p\/[^/]+$/, '')), from }
}
