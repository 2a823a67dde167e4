/**
 * `clawmesh top`: the mesh live in the terminal, redrawn from the running node's
 * snapshots (the control socket's `observe`): every Gateway with its link, state,
 * RTT, sessions, send rate and errors. `q` or Ctrl-C quits.
 *
 * On a terminal it draws full-screen on the alternate screen (three escape
 * sequences; no library needed for that); piped, it prints one frame per interval,
 * or one with `--once`; with `--json`, one snapshot per line.
 */
import { emitKeypressEvents } from 'node:readline'
import { stripVTControlCharacters } from 'node:util'
import type { ControlClient } from '../control/client.ts'
import type { GatewayView, MeshSnapshot, SendTally } from '../observe/snapshot.ts'
import { duration, paint, printable, shortId, table } from './output.ts'

export interface TopOptions {
  /** Seconds between frames. */
  interval: number
  once?: boolean
  json?: boolean
}

/** How long one snapshot may take before the node is given up on. */
const REQUEST_TIMEOUT_MS = 10_000

const SCREEN = {
  enter: '\x1b[?1049h\x1b[?25l',
  leave: '\x1b[?25h\x1b[?1049l',
  home: '\x1b[H',
  clearLine: '\x1b[K',
  clearBelow: '\x1b[J'
}

function sent (t: SendTally): number {
  return t.ok + t.accepted + t.failed
}

function perSecond (now: number, before: number | undefined, seconds: number): string {
  if (before === undefined || seconds <= 0) return '-'
  return ((now - before) / seconds).toFixed(1)
}

function errorsText (t: SendTally): string {
  const parts = Object.entries(t.errors).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`)
  return parts.length === 0 ? '-' : parts.join(', ')
}

export interface FrameLayout {
  /** Terminal size; 0 for no limit. */
  columns: number
  rows: number
  /** Show the `q quit` line (only where keys are read). */
  keys: boolean
}

/**
 * One frame: a header, the Gateways table and recent refusals, at most `rows`
 * lines of at most `columns` characters. Pure: tests call it directly.
 */
export function renderTop (snap: MeshSnapshot, previous: MeshSnapshot | undefined, layout: FrameLayout, stream: NodeJS.WriteStream = process.stdout): string[] {
  const seconds = previous !== undefined ? (snap.at - previous.at) / 1000 : 0
  const before = new Map(previous?.gateways.map(g => [g.peerId, g]) ?? [])
  const down = snap.gateways.filter(g => !g.reachable).length
  const header = [
    `${paint('bold', 'clawmesh top', stream)} · ${paint('bold', printable(snap.self.name), stream)} ${shortId(snap.self.peerId)}` +
      `${snap.meshId !== undefined ? ` · mesh ${snap.meshId}` : ''} · up ${duration(snap.at - snap.startedAt)} · ${new Date(snap.at).toISOString().slice(11, 19)}`,
    `${snap.gateways.length} Gateways${down > 0 ? paint('red', ` (${down} unreachable)`, stream) : ''} · ${snap.sessionsTotal} sessions` +
      ` · sent ${sent(snap.sends)} (${perSecond(sent(snap.sends), previous !== undefined ? sent(previous.sends) : undefined, seconds)}/s)` +
      ` · failed ${snap.sends.failed} (${perSecond(snap.sends.failed, previous?.sends.failed, seconds)}/s)` +
      ` · received ${snap.counters.received}`,
    ''
  ]
  const rateOf = (g: GatewayView): string => {
    const b = before.get(g.peerId)
    return perSecond(sent(g.sends), b !== undefined ? sent(b.sends) : undefined, seconds)
  }
  const gateways = table(snap.gateways, [
    { header: 'GATEWAY', value: g => g.self ? `${g.name} (this)` : g.name, style: () => 'bold' },
    { header: 'PORT', value: g => g.gatewayPort !== undefined ? String(g.gatewayPort) : '-', align: 'right' },
    { header: 'LINK', value: g => g.link },
    { header: 'STATE', value: g => g.reachable ? 'reachable' : 'UNREACHABLE', style: g => g.reachable ? 'green' : 'red' },
    { header: 'RTT', value: g => g.rttMs !== undefined ? `${g.rttMs.toFixed(1)} ms` : '-', align: 'right' },
    { header: 'VERSION', value: g => g.protocolVersion !== undefined ? `${printable(g.softwareVersion ?? '?')} w${g.protocolVersion}` : '-', style: g => g.protocolVersion !== undefined && g.protocolVersion < 2 ? 'yellow' : undefined },
    { header: 'SESSIONS', value: g => String(g.sessions), align: 'right' },
    { header: 'SENT/S', value: g => g.self ? '' : rateOf(g), align: 'right' },
    { header: 'OK', value: g => g.self ? '' : String(g.sends.ok + g.sends.accepted), align: 'right' },
    { header: 'ERRORS', value: g => g.self ? '' : errorsText(g.sends), style: g => g.sends.failed > 0 ? 'yellow' : undefined }
  ], stream).split('\n')
  const lines = [...header, ...gateways]
  if (snap.rejected.length > 0) {
    lines.push('', paint('dim', 'RECENTLY REFUSED', stream))
    for (const r of snap.rejected.slice(-5).reverse()) {
      lines.push(`${new Date(r.at).toISOString().slice(11, 19)}  ${printable(r.peerId !== undefined ? shortId(r.peerId) : r.address ?? '?')}  ${paint('yellow', printable(r.reason), stream)}`)
    }
  }
  const incompatible = snap.incompatible ?? []
  if (incompatible.length > 0) {
    lines.push('', paint('red', 'INCOMPATIBLE (neither side sees the other\'s sessions)', stream))
    for (const p of incompatible.slice(-5).reverse()) lines.push(`${shortId(p.peerId)}  ${printable(p.agentVersion ?? '')}  ${paint('red', printable(p.reason), stream)}`)
  }
  if (layout.keys) lines.push('', paint('dim', 'q quit', stream))
  return fit(lines, layout)
}

/** Crops to the terminal: long lines end in `…`, extra lines become `… N more`. */
function fit (lines: string[], size: { columns: number, rows: number }): string[] {
  let out = lines
  if (size.rows > 0 && out.length > size.rows) {
    const keep = Math.max(size.rows - 2, 1)
    out = [...out.slice(0, keep), `… ${out.length - keep - 1} more lines (a taller terminal shows them)`, out[out.length - 1] ?? '']
  }
  return size.columns > 1 ? out.map(line => crop(line, size.columns)) : out
}

/** Cuts a line with colour codes to `width` visible characters. */
function crop (line: string, width: number): string {
  if (stripVTControlCharacters(line).length <= width) return line
  let visible = 0
  let out = ''
  for (let i = 0; i < line.length;) {
    // eslint-disable-next-line no-control-regex -- the colour codes paint() wrote
    const escape = /^\x1b\[[0-9;?]*[A-Za-z]/.exec(line.slice(i))
    if (escape !== null) {
      out += escape[0]
      i += escape[0].length
      continue
    }
    if (visible === width - 1) return out + (out.includes('\x1b[') ? '…\x1b[0m' : '…')
    out += line[i]
    visible++
    i++
  }
  return out
}

/** Runs until `q`, Ctrl-C, SIGTERM or (with `once`) the first frame. */
export async function runTop (client: ControlClient, options: TopOptions): Promise<void> {
  const out = process.stdout
  const live = out.isTTY && options.json !== true && options.once !== true
  const stop = new AbortController()
  const quit = (): void => { stop.abort() }
  const onKey = (_: string, key: { name?: string, ctrl?: boolean } | undefined): void => {
    if (key?.name === 'q' || (key?.ctrl === true && key.name === 'c')) quit()
  }
  let previous: MeshSnapshot | undefined
  let last: MeshSnapshot | undefined
  const draw = (): void => {
    if (last === undefined) return
    const lines = renderTop(last, previous, { columns: out.columns ?? 0, rows: out.rows ?? 0, keys: process.stdin.isTTY }, out)
    out.write(SCREEN.home + lines.map(l => l + SCREEN.clearLine).join('\n') + SCREEN.clearBelow)
  }
  process.once('SIGINT', quit)
  process.once('SIGTERM', quit)
  if (live) {
    out.write(SCREEN.enter)
    out.on('resize', draw)
    if (process.stdin.isTTY) {
      emitKeypressEvents(process.stdin)
      process.stdin.setRawMode(true)
      process.stdin.on('keypress', onKey)
    }
  }
  try {
    while (!stop.signal.aborted) {
      const snap = await client.request('observe', {}, { signal: AbortSignal.any([stop.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) })
        .catch((err: unknown) => { if (stop.signal.aborted) return undefined; throw err })
      if (snap === undefined) break
      previous = last
      last = snap
      if (options.json === true) {
        out.write(JSON.stringify(snap) + '\n')
      } else if (live) {
        draw()
      } else {
        out.write(renderTop(snap, previous, { columns: 0, rows: 0, keys: false }, out).join('\n') + '\n\n')
      }
      if (options.once === true) break
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, options.interval * 1000)
        stop.signal.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
      })
    }
  } finally {
    process.off('SIGINT', quit)
    process.off('SIGTERM', quit)
    if (live) {
      out.off('resize', draw)
      if (process.stdin.isTTY) {
        process.stdin.off('keypress', onKey)
        process.stdin.setRawMode(false)
        process.stdin.pause()
      }
      out.write(SCREEN.leave)
    }
  }
}
