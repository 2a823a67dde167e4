/**
 * Wire versions and their protocol IDs: the one home of version negotiation.
 *
 * A Gateway handles every version it speaks and offers them newest first when it
 * opens a stream; libp2p's multistream-select settles on the first one both
 * speak, so two v2 Gateways talk v2 and a v2 Gateway talks v1 with a v1 one
 * (the previous release: JSON frames, JSON-signed records). A peer that speaks
 * none of ours fails the negotiation, which is reported as an incompatible peer.
 */
import { DELIVER_PROTOCOL, REGISTRY_PROTOCOL } from '../constants.ts'
import { MeshError } from '../errors.ts'

/** The wire versions this clawmesh can speak. */
export type WireVersion = 1 | 2

/** What a Gateway speaks unless told otherwise: v2, and v1 for Gateways not yet upgraded. */
export const DEFAULT_WIRE_VERSIONS: readonly WireVersion[] = [2, 1]

const REGISTRY: Record<WireVersion, string> = { 2: REGISTRY_PROTOCOL, 1: '/clawmesh/registry/1.0.0' }
const DELIVER: Record<WireVersion, string> = { 2: DELIVER_PROTOCOL, 1: '/clawmesh/deliver/1.0.0' }

export const REGISTRY_PROTOCOL_V1 = REGISTRY[1]
export const DELIVER_PROTOCOL_V1 = DELIVER[1]

/** `protocolVersions` as given (validated), newest first. Throws `BAD_REQUEST` for anything else. */
export function checkWireVersions (versions: unknown = DEFAULT_WIRE_VERSIONS): WireVersion[] {
  if (!Array.isArray(versions) || versions.length === 0 || versions.some(v => v !== 1 && v !== 2) || new Set(versions).size !== versions.length) {
    throw new MeshError('BAD_REQUEST', `protocolVersions must list some of ${DEFAULT_WIRE_VERSIONS.join(', ')}, each once`)
  }
  return [...versions as WireVersion[]].sort((a, b) => b - a)
}

/** Registry protocol IDs of `versions`, in the order given (newest first: the order we offer them). */
export function registryProtocols (versions: readonly WireVersion[]): string[] {
  return versions.map(v => REGISTRY[v])
}

export function deliverProtocols (versions: readonly WireVersion[]): string[] {
  return versions.map(v => DELIVER[v])
}

const CLAWMESH_PROTOCOL = /^\/clawmesh\/(registry|deliver)\/(\d{1,6})\.\d+\.\d+$/

/** The major version of a clawmesh protocol ID (`/clawmesh/registry/2.0.0` → 2), or undefined. */
export function versionOfProtocol (protocol: string | undefined, kind: 'registry' | 'deliver'): number | undefined {
  const match = protocol === undefined ? null : CLAWMESH_PROTOCOL.exec(protocol)
  return match !== null && match[1] === kind ? Number(match[2]) : undefined
}

/** The registry wire versions a peer announces (its identify protocol list), newest first. */
export function peerWireVersions (protocols: readonly string[]): number[] {
  const versions = new Set<number>()
  for (const p of protocols) {
    const v = versionOfProtocol(p, 'registry')
    if (v !== undefined) versions.add(v)
  }
  return [...versions].sort((a, b) => b - a)
}

/** True when libp2p refused a stream because the peer speaks none of the protocols offered. */
export function isNoCommonProtocol (err: unknown): boolean {
  return err instanceof Error && err.name === 'UnsupportedProtocolError'
}
