// @ts-check
/**
 * The live page of a clawmesh node: polls `mesh.json` every second and draws the
 * topology (as this Gateway sees it), the Gateways and the sessions.
 *
 * Every name, host, key and label comes from another Gateway and may be hostile:
 * it only ever enters the page as text (`textContent`, `createTextNode`, attribute
 * values set with `setAttribute`), never as markup. The server's CSP forbids inline
 * script besides. Read-only: the page sends nothing but GET requests for the JSON.
 */

/** @typedef {{ ok: number, accepted: number, failed: number, errors: Record<string, number> }} SendTally */
/** @typedef {{ name: string, peerId: string, gatewayPort?: number, host: string, self: boolean, reachable: boolean }} GatewayInfo */
/** @typedef {GatewayInfo & { link: 'self' | 'direct' | 'relayed' | 'registry', rttMs?: number, protocolVersion?: number, softwareVersion?: string, sessions: number, addresses: string[], sends: SendTally }} GatewayView */
/** @typedef {{ sessionKey: string, sessionId?: string, label?: string, agentId?: string, owner: GatewayInfo, qualifiedKey: string }} SessionEntry */
/** @typedef {{ peerId?: string, address?: string, reason: string, at: number }} RejectedPeer */
/**
 * @typedef {{ version: number, at: number, self: GatewayInfo, meshId?: string, startedAt: number, incarnation: number,
 *   gateways: GatewayView[], sessions: SessionEntry[], sessionsTotal: number, sends: SendTally,
 *   counters: Record<string, number>, rejected: RejectedPeer[] }} MeshSnapshot
 */

const REFRESH_MS = 1000
const SVG = 'http://www.w3.org/2000/svg'
/** Longest name drawn in the picture; the full one is in the tooltip and the tables. */
const MAX_LABEL = 22

/**
 * An element with attributes and text or element children. Strings become text nodes.
 * @param {string} tag
 * @param {Record<string, string | undefined>} [attrs]
 * @param {Array<Node | string>} [children]
 * @param {string} [ns]
 * @returns {Element}
 */
function h (tag, attrs = {}, children = [], ns) {
  const el = ns === undefined ? document.createElement(tag) : document.createElementNS(ns, tag)
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v)
  for (const c of children) el.append(typeof c === 'string' ? document.createTextNode(c) : c)
  return el
}

/**
 * @param {string} tag
 * @param {Record<string, string | number | undefined>} [attrs]
 * @param {Array<Node | string>} [children]
 */
function s (tag, attrs = {}, children = []) {
  /** @type {Record<string, string | undefined>} */
  const text = {}
  for (const [k, v] of Object.entries(attrs)) text[k] = v === undefined ? undefined : String(v)
  return h(tag, text, children, SVG)
}

/** @param {string} text */
function clip (text) {
  return text.length > MAX_LABEL ? text.slice(0, MAX_LABEL - 1) + '…' : text
}

/** @param {number | undefined} ms */
function rtt (ms) {
  return ms === undefined ? '–' : `${ms.toFixed(1)} ms`
}

/** @param {number} ms */
function since (ms) {
  const secs = Math.max(0, Math.floor(ms / 1000))
  if (secs < 60) return `${secs}s`
  const m = Math.floor(secs / 60)
  return m < 60 ? `${m}m${String(secs % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
}

/** @param {GatewayView} g */
function stateOf (g) {
  return g.reachable ? 'reachable' : 'unreachable'
}

/** @param {SendTally} t */
function errorCount (t) {
  return t.failed
}

/** @param {SendTally} t */
function errorText (t) {
  const parts = Object.entries(t.errors).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`)
  return parts.length === 0 ? '0' : parts.join(', ')
}

/** @param {Element} el @param {Node[]} children */
function replace (el, children) {
  el.replaceChildren(...children)
}

/**
 * The picture: this Gateway in the middle, the others around it, a line for each
 * link of ours (solid direct, dashed relayed), none for Gateways known only from the
 * registry, red for the unreachable.
 * @param {MeshSnapshot} snap
 */
function drawTopology (snap) {
  const svg = /** @type {Element} */ (document.getElementById('topology'))
  const cx = 400
  const cy = 250
  const others = snap.gateways.filter(g => !g.self)
  const radius = others.length <= 1 ? 180 : Math.min(200, 110 + others.length * 12)
  /** @type {Map<string, { x: number, y: number }>} */
  const at = new Map()
  // Start half a step past the top, so two Gateways sit left and right (labels clear of the links).
  const step = (2 * Math.PI) / Math.max(others.length, 1)
  others.forEach((g, i) => {
    const angle = -Math.PI / 2 + step / 2 + step * i
    at.set(g.peerId, { x: cx + radius * 1.45 * Math.cos(angle), y: cy + radius * Math.sin(angle) })
  })
  /** @type {Node[]} */
  const links = []
  /** @type {Node[]} */
  const nodes = []
  for (const g of others) {
    const p = at.get(g.peerId)
    if (p === undefined || g.link === 'registry') continue
    const cls = !g.reachable ? 'link link-down' : g.link === 'relayed' ? 'link link-relayed' : 'link link-direct'
    links.push(s('line', { class: cls, x1: cx, y1: cy, x2: p.x, y2: p.y, 'data-peer-id': g.peerId }))
    if (g.rttMs !== undefined && g.reachable) links.push(s('text', { class: 'rtt', x: (cx + p.x) / 2, y: (cy + p.y) / 2 - 6 }, [rtt(g.rttMs)]))
  }
  for (const g of snap.gateways) {
    const p = g.self ? { x: cx, y: cy } : at.get(g.peerId)
    if (p === undefined) continue
    const state = stateOf(g)
    const cls = `gw ${g.self ? 'self' : state}${g.link === 'registry' ? ' registry' : ''}`
    const port = g.gatewayPort !== undefined ? `:${g.gatewayPort} · ` : ''
    nodes.push(s('g', { class: cls, 'data-peer-id': g.peerId, 'data-state': state }, [
      s('title', {}, [`${g.name}\n${g.peerId}${g.host !== '' ? `\nhost ${g.host}` : ''}`]),
      s('circle', { cx: p.x, cy: p.y, r: g.self ? 34 : 28 }),
      s('text', { class: 'mark', x: p.x, y: p.y }, [g.reachable ? String(g.sessions) : '✕']),
      s('text', { class: 'name', x: p.x, y: p.y + (g.self ? 52 : 46) }, [clip(g.name)]),
      s('text', { class: `sub${g.reachable ? '' : ' state'}`, x: p.x, y: p.y + (g.self ? 68 : 62) },
        [g.reachable ? `${port}${g.sessions} session${g.sessions === 1 ? '' : 's'}` : 'UNREACHABLE'])
    ]))
  }
  replace(svg, [...links, ...nodes])
}

/** @param {MeshSnapshot} snap */
function drawGateways (snap) {
  const body = /** @type {Element} */ (document.querySelector('#gateways tbody'))
  replace(body, snap.gateways.map(g => {
    const state = stateOf(g)
    return h('tr', { class: g.self ? 'self' : undefined, 'data-peer-id': g.peerId, 'data-state': state }, [
      h('td', {}, [g.name]),
      h('td', { class: 'nowrap' }, [g.gatewayPort !== undefined ? String(g.gatewayPort) : '–']),
      h('td', {}, [g.host !== '' ? g.host : '–']),
      h('td', { class: 'nowrap' }, [g.link]),
      h('td', { class: `nowrap state-${state}` }, [g.reachable ? 'reachable' : 'UNREACHABLE']),
      h('td', { class: 'num' }, [rtt(g.rttMs)]),
      h('td', { class: 'nowrap' }, [g.protocolVersion !== undefined ? `${g.softwareVersion ?? '?'} (wire ${g.protocolVersion})` : '–']),
      h('td', { class: 'num' }, [String(g.sessions)]),
      h('td', { class: 'num' }, [g.self ? '' : String(g.sends.ok + g.sends.accepted)]),
      h('td', { class: 'num', title: errorText(g.sends) }, [g.self ? '' : String(errorCount(g.sends))]),
      h('td', {}, [h('code', {}, [g.peerId])])
    ])
  }))
}

/** @param {MeshSnapshot} snap */
function drawSessions (snap) {
  const body = /** @type {Element} */ (document.querySelector('#sessions tbody'))
  replace(body, snap.sessions.map(e => {
    const state = e.owner.reachable ? 'reachable' : 'unreachable'
    return h('tr', { 'data-qualified-key': e.qualifiedKey, 'data-state': state }, [
      h('td', {}, [e.owner.self ? `${e.owner.name} (this)` : e.owner.name]),
      h('td', {}, [e.sessionKey]),
      h('td', { class: `nowrap state-${state}` }, [e.owner.reachable ? 'reachable' : 'UNREACHABLE']),
      h('td', {}, [h('code', {}, [e.sessionId ?? ''])]),
      h('td', {}, [e.label ?? '']),
      h('td', {}, [h('code', {}, [e.qualifiedKey])])
    ])
  }))
  const count = /** @type {Element} */ (document.getElementById('sessions-count'))
  count.textContent = snap.sessionsTotal > snap.sessions.length ? `showing ${snap.sessions.length} of ${snap.sessionsTotal}` : `${snap.sessionsTotal}`
}

/** @param {MeshSnapshot} snap */
function drawRejected (snap) {
  const section = /** @type {HTMLElement} */ (document.getElementById('rejected-section'))
  section.hidden = snap.rejected.length === 0
  const body = /** @type {Element} */ (document.querySelector('#rejected tbody'))
  replace(body, [...snap.rejected].reverse().map(r => h('tr', {}, [
    h('td', {}, [new Date(r.at).toISOString().replace('T', ' ').slice(0, 19)]),
    h('td', {}, [h('code', {}, [r.peerId ?? '–'])]),
    h('td', {}, [r.address ?? '–']),
    h('td', {}, [r.reason])
  ])))
}

/** @type {MeshSnapshot | undefined} */
let previous

/** @param {MeshSnapshot} snap */
function drawSummary (snap) {
  const name = /** @type {Element} */ (document.getElementById('self-name'))
  name.textContent = snap.self.name
  document.title = `clawmesh · ${snap.self.name}`
  const sent = snap.sends.ok + snap.sends.accepted + snap.sends.failed
  let rate = ''
  if (previous !== undefined && snap.at > previous.at) {
    const before = previous.sends.ok + previous.sends.accepted + previous.sends.failed
    const secs = (snap.at - previous.at) / 1000
    rate = ` (${((sent - before) / secs).toFixed(1)}/s, errors ${((snap.sends.failed - previous.sends.failed) / secs).toFixed(1)}/s)`
  }
  const down = snap.gateways.filter(g => !g.reachable).length
  const summary = /** @type {Element} */ (document.getElementById('summary'))
  summary.textContent = [
    snap.meshId !== undefined ? `mesh ${snap.meshId}` : '',
    `${snap.gateways.length} Gateways${down > 0 ? ` (${down} unreachable)` : ''}`,
    `${snap.sessionsTotal} sessions`,
    `sent ${sent}${rate}`,
    `failed ${snap.sends.failed}`,
    `received ${snap.counters.received ?? 0}`,
    `up ${since(snap.at - snap.startedAt)}`
  ].filter(Boolean).join(' · ')
}

/** @param {string | undefined} problem */
function showBanner (problem) {
  const banner = /** @type {HTMLElement} */ (document.getElementById('banner'))
  banner.hidden = problem === undefined
  banner.textContent = problem ?? ''
  document.body.dataset.stale = problem === undefined ? 'false' : 'true'
}

async function refresh () {
  try {
    const response = await fetch('mesh.json', { cache: 'no-store' })
    if (!response.ok) throw new Error(`HTTP ${response.status}`)
    /** @type {MeshSnapshot} */
    const snap = await response.json()
    drawSummary(snap)
    drawTopology(snap)
    drawGateways(snap)
    drawSessions(snap)
    drawRejected(snap)
    previous = snap
    showBanner(undefined)
    document.body.dataset.updated = String(snap.at)
  } catch (err) {
    const when = previous !== undefined ? `; showing the view of ${new Date(previous.at).toLocaleTimeString()}` : ''
    showBanner(`cannot reach this node (${err instanceof Error ? err.message : 'error'})${when}`)
  } finally {
    setTimeout(() => { void refresh() }, REFRESH_MS)
  }
}

void refresh()
