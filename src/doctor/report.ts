/**
 * `clawmesh doctor`: checks of one machine's clawmesh setup, each ending ok,
 * warn or fail with the one thing to do about it. This folder gathers the
 * facts and judges them; `src/cli/doctor.ts` prints them.
 */

/** `skip`: not applicable here (no node running, no OpenClaw config), or not asked for. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip'

export interface Check {
  /** Stable, for scripts: `node`, `state-dir`, `key-file`, `control`, `running-node`, `secret`, `rendezvous`, `mdns`, `listen`, `bootstrap`, `openclaw`. */
  id: string
  /** What was checked, for people (`key file`, `bootstrap hangzhou`). */
  title: string
  status: CheckStatus
  /** What was found, in one line. */
  summary: string
  /** The one thing to do about it (for warn and fail). */
  fix?: string
  /** Further lines: entries, answers, addresses. */
  details?: string[]
}

export interface DoctorReport {
  stateDir: string
  /** The running node the checks asked, when there was one. */
  node?: string
  checks: Check[]
  counts: Record<CheckStatus, number>
  worst: CheckStatus
}

const RANK: Record<CheckStatus, number> = { skip: 0, ok: 1, warn: 2, fail: 3 }

export function worstOf (checks: Check[]): CheckStatus {
  return checks.reduce<CheckStatus>((worst, c) => RANK[c.status] > RANK[worst] ? c.status : worst, 'ok')
}

export function report (stateDir: string, checks: Check[], node?: string): DoctorReport {
  const counts: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0, skip: 0 }
  for (const c of checks) counts[c.status]++
  return { stateDir, ...(node !== undefined ? { node } : {}), checks, counts, worst: worstOf(checks) }
}

/** Builds a check, leaving out empty optional fields. */
export function check (id: string, title: string, status: CheckStatus, summary: string, fix?: string, details?: string[]): Check {
  return { id, title, status, summary, ...(fix !== undefined ? { fix } : {}), ...(details !== undefined && details.length > 0 ? { details } : {}) }
}
