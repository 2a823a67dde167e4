/**
 * The one address parser (design §3), shared by the resolver, the CLI and the
 * OpenClaw plugin, and the naming rules that keep every address unambiguous.
 *
 * Parsing is pure syntax: it never consults the registry, so what a member
 * names itself cannot change how a target is split.
 *
 * - `gateway:<gw>:<sessionKey>`: `<gw>` is, in this order,
 *   a port (`18790`), a peer ID (`12D3KooW…`), `host:port` (`box:18790`,
 *   `[::1]:18790`: a name or host followed by a port), or a Gateway name.
 *   Everything after it is the session key, colons included. (So under a name,
 *   a session key that itself starts with `<digits>:` reads as `host:port`;
 *   address such a session by peer ID or with the `targetGateway` option.)
 * - a session UUID;
 * - anything else: a bare session key or a label.
 *
 * Gateway names: 1 to 64 characters of `A–Z a–z 0–9 . _ -`, at least one of
 * them not a digit (a port is all digits), never shaped like a peer ID. A
 * Gateway refuses to start with a name that breaks the rules; a name that
 * breaks them in another Gateway's record is ignored (that Gateway is then
 * addressed by its peer ID).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { MeshError } from '../errors.ts'

export const QUALIFIED_PREFIX = 'gateway:'
export const MAX_GATEWAY_NAME_LENGTH = 64
export const MAX_SESSION_KEY_LENGTH = 1024

const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const NAME = /^[A-Za-z0-9._-]+$/
const PORT = /^[0-9]{1,5}$/
/** Base58 prefixes of the peer IDs libp2p makes (Ed25519, secp256k1) and legacy RSA multihashes. */
const PEER_ID_SHAPE = /^(12D3KooW|16Uiu2HA)|^Qm[1-9A-HJ-NP-Za-km-z]{44}$/

/** What `<gw>` names: one Gateway, found by the resolver. */
export type GatewayRef =
  | { kind: 'peerId', peerId: string }
  | { kind: 'port', port: number }
  | { kind: 'hostPort', host: string, port: number }
  | { kind: 'name', name: string }

/** What a target string names. */
export type Target =
  | { kind: 'qualified', gateway: GatewayRef, gatewayText: string, sessionKey: string }
  | { kind: 'sessionId', sessionId: string }
  /** A bare session key, or a label. */
  | { kind: 'key', key: string }

export function isSessionId (text: string): boolean {
  return SESSION_ID.test(text)
}

/** True for text a peer ID could be (by prefix, or because it parses as one). */
export function looksLikePeerId (text: string): boolean {
  if (PEER_ID_SHAPE.test(text)) return true
  if (text.length < 40) return false
  try {
    peerIdFromString(text)
    return true
  } catch {
    return false
  }
}

function portOf (text: string): number | undefined {
  if (!PORT.test(text)) return undefined
  const port = Number(text)
  return port >= 1 && port <= 65535 ? port : undefined
}

/** Why `name` cannot be a Gateway name, or undefined when it can. */
export function gatewayNameProblem (name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_GATEWAY_NAME_LENGTH) return `a Gateway name has 1 to ${MAX_GATEWAY_NAME_LENGTH} characters`
  if (!NAME.test(name)) return 'a Gateway name has only the characters A-Z a-z 0-9 . _ - (no ":")'
  if (/^[0-9]+$/.test(name)) return 'a Gateway name cannot be all digits (that is a port)'
  if (looksLikePeerId(name)) return 'a Gateway name cannot look like a peer ID'
  return undefined
}

export function isValidGatewayName (name: unknown): name is string {
  return gatewayNameProblem(name) === undefined
}

/** Throws `BAD_REQUEST` when `name` breaks the naming rules. */
export function checkGatewayName (name: unknown): string {
  const problem = gatewayNameProblem(name)
  if (problem !== undefined) throw new MeshError('BAD_REQUEST', `${problem}: ${JSON.stringify(name)}`)
  return name as string
}

/** The default name: `<host>-<port or short peer ID>`, with what the rules forbid replaced by `-`. */
export function defaultGatewayName (host: string, suffix: string): string {
  const cleaned = `${host}-${suffix}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, MAX_GATEWAY_NAME_LENGTH)
  return isValidGatewayName(cleaned) ? cleaned : `gw-${suffix}`.replace(/[^A-Za-z0-9._-]/g, '-')
}

/** Throws `BAD_REQUEST` unless `sessionKey` is a session key this mesh can carry. */
export function checkSessionKey (sessionKey: unknown): string {
  if (typeof sessionKey !== 'string' || sessionKey.length === 0 || sessionKey.length > MAX_SESSION_KEY_LENGTH) {
    throw new MeshError('BAD_REQUEST', `session key must be a non-empty string of at most ${MAX_SESSION_KEY_LENGTH} characters`)
  }
  if (sessionKey.startsWith(QUALIFIED_PREFIX)) throw new MeshError('BAD_REQUEST', `a session key cannot start with "${QUALIFIED_PREFIX}" (that prefix qualifies targets)`)
  return sessionKey
}

/** Parses what names a Gateway (`<gw>` of a qualified key, or the `targetGateway` option). */
export function parseGatewayRef (text: string): GatewayRef {
  const port = portOf(text)
  if (port !== undefined) return { kind: 'port', port }
  if (looksLikePeerId(text)) return { kind: 'peerId', peerId: text }
  const hostPort = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):([0-9]{1,5})$/.exec(text)
  if (hostPort !== null) {
    const hpPort = portOf(hostPort[2] as string)
    if (hpPort !== undefined) return { kind: 'hostPort', host: hostPort[1] as string, port: hpPort }
  }
  if (text.length === 0 || text.includes(':')) throw new MeshError('BAD_REQUEST', `"${text.slice(0, 80)}" does not name a Gateway (a name, a port, host:port or a peer ID)`)
  return { kind: 'name', name: text }
}

/**
 * Splits `gateway:<gw>:<sessionKey>` into its two parts as text, or returns
 * undefined when `target` is not qualified. Throws `BAD_REQUEST` when it is
 * qualified but malformed.
 */
export function splitQualifiedKey (target: string): { gateway: string, sessionKey: string } | undefined {
  if (!target.startsWith(QUALIFIED_PREFIX)) return undefined
  const rest = target.slice(QUALIFIED_PREFIX.length)
  const malformed = (): MeshError => new MeshError('BAD_REQUEST', `"${target.slice(0, 120)}" is not gateway:<gateway>:<sessionKey>`)
  let end: number
  if (rest.startsWith('[')) {
    // `[ipv6]:port:key`
    const close = rest.indexOf(']:')
    if (close < 0) throw malformed()
    const portEnd = rest.indexOf(':', close + 2)
    if (portEnd < 0 || portOf(rest.slice(close + 2, portEnd)) === undefined) throw malformed()
    end = portEnd
  } else {
    end = rest.indexOf(':')
    if (end <= 0) throw malformed()
    const first = rest.slice(0, end)
    if (portOf(first) === undefined && !looksLikePeerId(first)) {
      // `host:port:key` when the second part is a port.
      const next = rest.indexOf(':', end + 1)
      if (next > end + 1 && portOf(rest.slice(end + 1, next)) !== undefined) end = next
    }
  }
  const sessionKey = rest.slice(end + 1)
  if (sessionKey.length === 0) throw malformed()
  return { gateway: rest.slice(0, end), sessionKey }
}

/** Parses a target string (see the module comment for the forms). */
export function parseTarget (target: unknown): Target {
  if (typeof target !== 'string' || target.length === 0) throw new MeshError('BAD_REQUEST', 'target must be a non-empty string')
  const qualified = splitQualifiedKey(target)
  if (qualified !== undefined) return { kind: 'qualified', gateway: parseGatewayRef(qualified.gateway), gatewayText: qualified.gateway, sessionKey: qualified.sessionKey }
  if (isSessionId(target)) return { kind: 'sessionId', sessionId: target }
  return { kind: 'key', key: target }
}

/** `gateway:<gw>:<sessionKey>`. `<gw>` should name exactly one Gateway: a unique name, else its peer ID. */
export function formatQualifiedKey (gateway: string, sessionKey: string): string {
  return `${QUALIFIED_PREFIX}${gateway}:${sessionKey}`
}
