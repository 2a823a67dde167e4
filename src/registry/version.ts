/**
 * One home for comparing what nodes hold of an origin. A version is
 * `[incarnation, seq]`: a new incarnation (a restart) beats any seq of an
 * older one; within one incarnation the higher seq is newer.
 */

/** `[incarnation, seq]` of one origin. */
export type Version = readonly [incarnation: number, seq: number]

/** Negative when `a` is older than `b`, zero when equal, positive when newer. */
export function compareVersions (a: Version, b: Version): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1]
}

export function isNewer (a: Version, b: Version | undefined): boolean {
  return b === undefined || compareVersions(a, b) > 0
}

/** The newer of two versions (either when equal). */
export function newest (a: Version, b: Version | undefined): Version {
  return b === undefined || compareVersions(a, b) >= 0 ? a : b
}

/** What a session entry says, compared field by field (the key included). */
export interface EntryFields {
  sessionKey: string
  sessionId?: string
  label?: string
  agentId?: string
}

export function sameEntry (a: EntryFields, b: EntryFields): boolean {
  return a.sessionKey === b.sessionKey && a.sessionId === b.sessionId && a.label === b.label && a.agentId === b.agentId
}

/** What a node holds of an origin: its version, and whether that run said goodbye (a signed `bye`). */
export interface Held {
  readonly version: Version
  readonly departed: boolean
}

/** Like {@link compareVersions}; at the same version, having the goodbye is newer. */
export function compareHeld (a: Held, b: Held): number {
  return compareVersions(a.version, b.version) || Number(a.departed) - Number(b.departed)
}

/** `[incarnation, seq, departed]` of each origin: what a peer compares to find what it misses. */
export type Digest = Map<string, Held>
