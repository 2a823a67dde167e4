/**
 * How the CLI talks to a person or a script: aligned tables, colour only when
 * the stream is a terminal (and `NO_COLOR` is unset), JSON with `--json`, and
 * exit codes that say what went wrong.
 */
import { styleText } from 'node:util'
import { MeshError, type MeshErrorCode } from '../errors.ts'
import { ControlUnavailableError } from '../control/client.ts'
import { InvalidSecretError } from '../security/secret.ts'
import { cliAdvice } from './advice.ts'

/**
 * Exit codes. 0-3 are the CLI's own; 10-19 are one per `MeshError` code so a
 * script can tell `AMBIGUOUS` from `UNREACHABLE` without parsing text.
 * Documented in docs/operations.md; keep both in step.
 */
export const EXIT = {
  OK: 0,
  /** An unexpected failure (a bug, an I/O error). */
  FAILURE: 1,
  /** Bad arguments or options (also: several nodes run and no `--node`). */
  USAGE: 2,
  /** No node answers on the control socket (not running, another user's, or gone). */
  NO_NODE: 3,
  /** The mesh secret given (`CLAWMESH_SECRET`, key file) cannot be parsed. */
  BAD_SECRET: 4,
  /** `clawmesh doctor` found something to look at (its worst finding is a warning). */
  DOCTOR_WARN: 5,
  /** `clawmesh doctor` found something broken. */
  DOCTOR_FAIL: 6
} as const

export const MESH_EXIT_CODES: Record<MeshErrorCode, number> = {
  NOT_FOUND: 10,
  AMBIGUOUS: 11,
  UNREACHABLE: 12,
  TIMEOUT: 13,
  FORBIDDEN: 14,
  TOO_LARGE: 15,
  BAD_REQUEST: 16,
  ABORTED: 17,
  REMOTE_ERROR: 18,
  STOPPED: 19,
  INVITE_INVALID: 20,
  INVITE_EXPIRED: 21,
  INVITE_REFUSED: 22
}

/** The exit code for a thrown value. */
export function exitCodeFor (err: unknown): number {
  if (err instanceof MeshError) return MESH_EXIT_CODES[err.code] ?? EXIT.FAILURE
  if (err instanceof ControlUnavailableError) return err.reason === 'several' ? EXIT.USAGE : EXIT.NO_NODE
  if (err instanceof InvalidSecretError) return EXIT.BAD_SECRET
  return EXIT.FAILURE
}

type Style = Parameters<typeof styleText>[0]

/** Colours `text` when `stream` is a colour terminal; plain text otherwise. */
export function paint (style: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return styleText(style, text, { stream, validateStream: true })
}

export interface Column<T> {
  header: string
  value: (row: T) => string
  /** Colour of the cell, applied after padding so alignment is kept. */
  style?: (row: T) => Style | undefined
  align?: 'left' | 'right'
}

/**
 * Control characters (C0, DEL, C1) and bidirectional overrides, which a terminal would
 * obey rather than show: colours, cursor moves, a cleared screen, a changed window
 * title, text that reads backwards.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/**
 * Text another Gateway chose (a name, a key, a label), made safe to print: every
 * character a terminal would act on is shown as an escape (`\x1b`) instead.
 */
export function printable (text: string): string {
  return text.replace(UNPRINTABLE, c => {
    const code = c.charCodeAt(0)
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}

/** An aligned table with a dim header; the last column is not padded. Cells are printed as text ({@link printable}). */
export function table<T> (rows: T[], columns: Array<Column<T>>, stream: NodeJS.WriteStream = process.stdout): string {
  const cells = rows.map(row => columns.map(c => printable(c.value(row))))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map(r => (r[i] ?? '').length)))
  const pad = (text: string, i: number, align: 'left' | 'right' = 'left'): string => {
    if (i === columns.length - 1 && align === 'left') return text
    const w = widths[i] ?? 0
    return align === 'right' ? text.padStart(w) : text.padEnd(w)
  }
  const header = columns.map((c, i) => pad(c.header, i, c.align)).join('  ').trimEnd()
  const lines = [paint('dim', header, stream)]
  rows.forEach((row, r) => {
    lines.push(columns.map((c, i) => {
      const text = pad(cells[r]?.[i] ?? '', i, c.align)
      const style = c.style?.(row)
      return style === undefined ? text : paint(style, text, stream)
    }).join('  ').trimEnd())
  })
  return lines.join('\n')
}

/** `label  value` lines, labels aligned. */
export function fields (pairs: Array<[string, string]>, stream: NodeJS.WriteStream = process.stdout): string {
  const w = Math.max(...pairs.map(([k]) => k.length))
  return pairs.map(([k, v]) => `${paint('dim', k.padEnd(w), stream)}  ${v}`).join('\n')
}

/** `12D3KooWAbc…xyz`: enough of a peer ID to recognise it. */
export function shortId (peerId: string): string {
  return peerId.length > 16 ? `${peerId.slice(0, 8)}…${peerId.slice(-6)}` : peerId
}

export function duration (ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`
  const h = Math.floor(m / 60)
  return `${h}h${String(m % 60).padStart(2, '0')}m`
}

export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

/** Reports a failure (human text on stderr, or a JSON object on stdout) and returns its exit code. */
export function reportError (err: unknown, json: boolean): number {
  const code = exitCodeFor(err)
  if (json) {
    const error = err instanceof MeshError
      ? { code: err.code, message: err.message, ...(err.hint !== undefined ? { hint: err.hint } : {}), ...(err.candidates !== undefined ? { candidates: err.candidates } : {}), ...(err.gateway !== undefined ? { gateway: err.gateway } : {}) }
      : err instanceof ControlUnavailableError
        ? { code: 'NO_NODE', reason: err.reason, message: err.message, ...(err.nodes !== undefined ? { nodes: err.nodes } : {}) }
        : { code: err instanceof InvalidSecretError ? 'BAD_SECRET' : 'FAILURE', message: err instanceof Error ? err.message : String(err) }
    process.stdout.write(JSON.stringify({ error, exitCode: code }) + '\n')
    return code
  }
  const e = process.stderr
  if (err instanceof MeshError) {
    // The summary, not the message: the message's advice names the library's API, the hint below names commands.
    e.write(`${paint(['red', 'bold'], err.code, e)} ${err.summary}\n`)
    if (err.candidates !== undefined && err.candidates.length > 0 && !err.candidates.every(c => err.summary.includes(c))) {
      e.write('use one of:\n' + err.candidates.map(c => `  ${c}`).join('\n') + '\n')
    }
    const advice = cliAdvice(err)
    if (advice !== undefined) e.write(`${paint('dim', 'hint:', e)} ${advice}\n`)
  } else if (err instanceof ControlUnavailableError || err instanceof InvalidSecretError) {
    e.write(`${paint(['red', 'bold'], 'error', e)} ${err.message}\n`)
  } else {
    e.write(`${paint(['red', 'bold'], 'unexpected error', e)} ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  }
  return code
}
