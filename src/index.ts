/**
 * clawmesh: several OpenClaw Gateways working as one.
 *
 * Each Gateway embeds a libp2p node that finds its peers, gossips which
 * sessions it owns (a signed, replicated registry) and delivers messages to the
 * owning Gateway over an encrypted stream, returning its reply.
 *
 * @example
 * ```ts
 * import { createMesh } from 'clawmesh'
 * const mesh = await createMesh({ name: 'hq', gatewayPort: 18789, deliver: async (msg) => ({ reply: `got ${msg.text}` }) })
 * await mesh.announce('agent:main:main', { sessionId: '…' })
 * const { reply } = await mesh.send('gateway:hangzhou:agent:main:main', 'hello')
 * ```
 * @packageDocumentation
 */
export { createMesh, Mesh, type MeshNodeServices, type MeshFacts, type MeshEventListener } from './mesh.ts'
export type { MeshNetworkServices } from './network.ts'
export { clawmesh, ClawmeshService, type MeshComponents } from './service.ts'
export { MeshError, MESH_ERROR_CODES, type MeshErrorCode, type MeshErrorOptions } from './errors.ts'
export { REGISTRY_PROTOCOL, DELIVER_PROTOCOL } from './constants.ts'
export { connectionKey, type ConnectionKey } from './security/protector.ts'
export { formatKeyring, keyringOf, parseKeyring, type MeshKey, type MeshKeyring } from './security/keyring.ts'
/** The one address parser and the naming rules (also what the OpenClaw plugin uses). */
export {
  parseTarget, parseGatewayRef, splitQualifiedKey, formatQualifiedKey, isValidGatewayName, gatewayNameProblem,
  type Target, type GatewayRef
} from './routing/address.ts'
export type * from './types.ts'
/** The live views' JSON (`/mesh.json`, `clawmesh top --json`). */
export type { MeshSnapshot, GatewayView, GatewayLink, SendTally } from './observe/snapshot.ts'
