/** A hand-played mesh for the control-socket unit tests: canned views, and sends the test controls. */
import { MeshError } from '../../src/errors.ts'
import type { ControlledMesh } from '../../src/control/server.ts'
import type { GatewayInfo, MeshStatus, Resolution, SendOptions, SendResult, SessionEntry } from '../../src/types.ts'

export const HQ: GatewayInfo = { name: 'hq', peerId: '12D3KooWHq', gatewayPort: 18789, host: 'box', self: true, reachable: true }
export const HANGZHOU: GatewayInfo = { name: 'hangzhou', peerId: '12D3KooWHz', gatewayPort: 18790, host: 'box', self: false, reachable: true }

const entry = (owner: GatewayInfo, sessionKey: string): SessionEntry => ({ sessionKey, owner, qualifiedKey: `gateway:${owner.name}:${sessionKey}` })

export interface SendCall { target: string, message: string, options: SendOptions }

export class FakeMesh implements ControlledMesh {
  readonly sends: SendCall[] = []
  /** How the next sends end; the default answers at once. */
  onSend: (call: SendCall) => Promise<SendResult> = async (call) => ({
    status: 'ok', reply: `re: ${call.message}`, owner: HANGZHOU, sessionKey: call.target, qualifiedKey: `gateway:hangzhou:${call.target}`, messageId: 'm1'
  })

  status (): MeshStatus {
    return {
      self: HQ, addresses: ['/ip4/127.0.0.1/tcp/4001'], peers: 1, sessions: 3, localSessions: 1, gateways: 2, incarnation: 1, startedAt: 0, rejected: [],
      counters: { sent: 0, received: 0, failed: 0, duplicates: 0, deltasApplied: 0, deltasRejected: 0, recordsRedundant: 0, pullRequests: 0 }
    }
  }

  peers (): ReturnType<ControlledMesh['peers']> {
    return [{ ...HANGZHOU, addresses: ['/ip4/127.0.0.1/tcp/4002'], sessions: 2 }]
  }

  sessions (): SessionEntry[] {
    return [entry(HQ, 'agent:main:main'), entry(HANGZHOU, 'agent:main:main'), entry(HANGZHOU, 'agent:research:main')]
  }

  resolve (target: string, options: { targetGateway?: string, localFirst?: boolean } = {}): Resolution {
    if (target === 'agent:main:main' && options.localFirst === false) {
      throw new MeshError('AMBIGUOUS', 'two owners', { candidates: ['gateway:hq:agent:main:main', 'gateway:hangzhou:agent:main:main'], hint: { kind: 'pick-candidate' } })
    }
    if (target === 'nope') throw new MeshError('NOT_FOUND', 'No session "nope" in the mesh', { hint: { kind: 'list-sessions' } })
    const owner = options.targetGateway === 'hangzhou' ? HANGZHOU : HQ
    return { owner, sessionKey: target, qualifiedKey: `gateway:${owner.name}:${target}`, via: options.targetGateway !== undefined ? 'targetGateway' : 'key' }
  }

  async send (target: string, message: string, options: SendOptions = {}): Promise<SendResult> {
    const call = { target, message, options }
    this.sends.push(call)
    return await this.onSend(call)
  }
}

/** A promise that settles when `signal` aborts, with its reason. */
export async function aborted (signal: AbortSignal | undefined): Promise<unknown> {
  if (signal === undefined) throw new Error('no signal')
  if (signal.aborted) return signal.reason
  return await new Promise(resolve => { signal.addEventListener('abort', () => { resolve(signal.reason) }, { once: true }) })
}
