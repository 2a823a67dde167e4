/**
 * A keyring: the keys a Gateway holds. The **primary** encrypts every
 * connection this Gateway dials; every key of the ring (the primary and the
 * **accepted** ones) is accepted on connections it receives, and the
 * connection then runs on the key the dialer used (see ./protector.ts).
 *
 * That is what rotating the secret without an outage and admitting a newcomer
 * under a temporary key need:
 * - rotation: everyone adds the next key as accepted, then makes it primary one
 *   by one, then drops the old one (docs/operations.md);
 * - removing a Gateway for good is a rotation to a ring it does not get;
 * - an invite admits a newcomer under its own key, with a `label` that the
 *   application reads on the connection (`connectionKey()`) to restrict what
 *   it may do, and an `expiresAt` after which the key is refused.
 *
 * Text form (the key file `mesh.key`, `CLAWMESH_SECRET`): keys one after the
 * other, the first is the primary. A key is the three swarm-key lines, or one
 * line of 64 hex digits optionally followed by `label=<name>` and
 * `expires=<ISO 8601 time>`. Keys may also be separated by commas (for an
 * environment variable); `#` starts a comment. A file with one key, as every
 * earlier version wrote, is a ring of one.
 */

import { exportSecret, formatSecret, InvalidSecretError, parseSecret, SWARM_KEY_LINES, type MeshSecret } from './key.ts'

/** One key of a ring. */
export interface MeshKey extends MeshSecret {
  /** Names the key in logs, `status()` and `connectionKey()`. @default its mesh ID */
  label: string
  /** Connections on this key are refused from then on (ms since the epoch). @default never */
  expiresAt?: number
}

export interface MeshKeyring {
  /** Encrypts the connections this Gateway dials; accepted on those it receives. */
  primary: MeshKey
  /** Also accepted on connections this Gateway receives (never the primary again). */
  accept: MeshKey[]
}

/** An accepted key in the `secret` option. */
export interface AcceptedKeyOption {
  /** Swarm-key text, 64 hex digits, or the swarm-key bytes. */
  key: string | Uint8Array
  label?: string
  /** A date, an ISO 8601 time or ms since the epoch. */
  expiresAt?: number | string | Date
}

/** The `secret` option as a keyring. */
export interface KeyringOption {
  primary: string | Uint8Array
  accept?: Array<string | Uint8Array | AcceptedKeyOption>
}

/** What the `secret` option takes: one key (swarm-key text, 64 hex digits or bytes, or a keyring's text form), or a keyring. */
export type SecretOption = string | Uint8Array | KeyringOption

/**
 * Keys a ring may hold. A connection's first bytes are tried with each accepted key, so a
 * stranger's handshake costs one small decryption per key: keep rings short (prune expired
 * invite keys).
 */
export const MAX_KEYRING_SIZE = 32

/** Letters, digits and `. _ : -`, up to 64: safe in logs, file lines and labels of metrics. */
const LABEL = /^[A-Za-z0-9._:-]{1,64}$/

/** The keyring of a `secret` option. Throws {@link InvalidSecretError} naming what is wrong. */
export function keyringOf (option: SecretOption): MeshKeyring {
  if (typeof option === 'string' || option instanceof Uint8Array) {
    return parseKeyring(typeof option === 'string' ? option : new TextDecoder().decode(option))
  }
  if (option == null || typeof option !== 'object' || option.primary == null) {
    throw new InvalidSecretError('the `secret` option is a key (text or bytes) or a keyring `{ primary, accept: [...] }`')
  }
  const primary = meshKey(parseSecret(option.primary), {})
  const accept = (option.accept ?? []).map((entry, i) => {
    if (typeof entry === 'string' || entry instanceof Uint8Array) return meshKey(parseSecret(entry), {})
    if (entry == null || entry.key == null) throw new InvalidSecretError(`secret.accept[${i}] has no \`key\``)
    return meshKey(parseSecret(entry.key), { label: entry.label, expires: entry.expiresAt })
  })
  return checked({ primary, accept })
}

/** Parses the text form (see this module's doc). */
export function parseKeyring (text: string): MeshKeyring {
  const lines = text.split(/\r?\n/).map(l => l.replace(/#.*$/, '').trim()).filter(l => l !== '')
  const keys: MeshKey[] = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    if (line === SWARM_KEY_LINES.header) {
      keys.push(meshKey(parseSecret(lines.slice(i, i + 3).join('\n')), {}))
      i += 2
      continue
    }
    for (const item of line.split(',').map(s => s.trim()).filter(s => s !== '')) {
      const [hex, ...attributes] = item.split(/\s+/)
      if (!/^[0-9a-fA-F]{64}$/.test(hex ?? '')) {
        // One malformed key: let parseSecret say what a key looks like.
        parseSecret(item)
      }
      const attrs: { label?: string, expires?: string } = {}
      for (const attribute of attributes) {
        const [name, value] = attribute.split('=', 2)
        if (name === 'label' && value !== undefined) attrs.label = value
        else if (name === 'expires' && value !== undefined) attrs.expires = value
        else throw new InvalidSecretError(`unknown key attribute "${attribute}" (a key line is 64 hex digits, then optionally label=<name> and expires=<ISO 8601 time>)`)
      }
      keys.push(meshKey(parseSecret(hex as string), attrs))
    }
  }
  const [primary, ...accept] = keys
  if (primary === undefined) parseSecret(text)
  return checked({ primary: primary as MeshKey, accept })
}

/** The text form of a ring (what `mesh.key` holds), the primary first. */
export function formatKeyring (ring: MeshKeyring): string {
  const line = (key: MeshKey): string => [
    exportSecret(key),
    ...(key.label !== key.meshId ? [`label=${key.label}`] : []),
    ...(key.expiresAt !== undefined ? [`expires=${new Date(key.expiresAt).toISOString()}`] : [])
  ].join(' ')
  // A ring of one plain key stays in the swarm-key format every earlier version wrote.
  if (ring.accept.length === 0 && line(ring.primary) === exportSecret(ring.primary)) return formatSecret(ring.primary) + '\n'
  return [line(ring.primary), ...ring.accept.map(line)].join('\n') + '\n'
}

/** The keys of a ring, primary first. */
export function keysOf (ring: MeshKeyring): MeshKey[] {
  return [ring.primary, ...ring.accept]
}

function meshKey (secret: MeshSecret, attrs: { label?: string | undefined, expires?: number | string | Date | undefined }): MeshKey {
  const key: MeshKey = { ...secret, label: attrs.label ?? secret.meshId }
  if (!LABEL.test(key.label)) throw new InvalidSecretError(`key label "${key.label}" is not 1-64 letters, digits or . _ : -`)
  if (attrs.expires !== undefined) {
    const at = attrs.expires instanceof Date ? attrs.expires.getTime() : typeof attrs.expires === 'number' ? attrs.expires : Date.parse(attrs.expires)
    if (!Number.isFinite(at)) throw new InvalidSecretError(`key ${key.label}: expiry "${String(attrs.expires)}" is not a time (use ISO 8601, e.g. 2027-01-31T12:00:00Z)`)
    key.expiresAt = at
  }
  return key
}

function checked (ring: MeshKeyring): MeshKeyring {
  if (ring.accept.length + 1 > MAX_KEYRING_SIZE) throw new InvalidSecretError(`a keyring holds at most ${MAX_KEYRING_SIZE} keys; this one has ${ring.accept.length + 1} (drop expired and retired keys)`)
  const ids = new Set<string>()
  const labels = new Set<string>()
  for (const key of keysOf(ring)) {
    if (ids.has(key.meshId)) throw new InvalidSecretError(`the key of mesh ${key.meshId} is listed twice in the keyring`)
    if (labels.has(key.label)) throw new InvalidSecretError(`two keys of the keyring are labelled "${key.label}"`)
    ids.add(key.meshId)
    labels.add(key.label)
  }
  return ring
}
