/**
 * OpenClaw's own session-tool rules, applied to sessions on other Gateways as
 * they are to local ones: `tools.sessions.visibility` and `tools.agentToAgent`
 * (openclaw 2026.9.6, src/agents/tools/session-visibility.ts:
 * `createSessionVisibilityDecisionChecker`, `createAgentToAgentPolicy`).
 *
 * A session on another Gateway is never the requester's own session nor one it
 * spawned, so `self` and `tree` deny it; `agent` allows only the same agent ID;
 * `all` allows it, subject to `tools.agentToAgent` across agent IDs. The sender
 * applies its Gateway's config; the receiver applies its own, with the sender's
 * agent ID as the sender claims it.
 */
import type { HostConfig } from './host.ts'

export type Visibility = 'self' | 'tree' | 'agent' | 'all'
export type AccessAction = 'send' | 'list'

export interface Denial {
  reason: 'cross_agent_visibility_restricted' | 'agent_to_agent_disabled' | 'agent_to_agent_not_allowed' | 'self_visibility_restricted' | 'tree_visibility_restricted'
  /** OpenClaw's own wording (renderSessionVisibilityDenial), so operators recognise the setting. */
  message: string
}

export function visibilityOf (cfg: HostConfig): Visibility {
  const raw = cfg.tools?.sessions?.visibility
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : ''
  return value === 'self' || value === 'tree' || value === 'agent' || value === 'all' ? value : 'all'
}

type Pattern = { kind: 'all' } | { kind: 'deny' } | { kind: 'exact', value: string } | { kind: 'wildcard', first: string, last: string, interior: string[] }

function compile (pattern: unknown): Pattern {
  const raw = typeof pattern === 'string' ? pattern.trim() : ''
  if (raw === '') return { kind: 'deny' }
  if (raw === '*') return { kind: 'all' }
  if (!raw.includes('*')) return { kind: 'exact', value: raw }
  const parts = raw.toLowerCase().split('*')
  return { kind: 'wildcard', first: parts[0] ?? '', last: parts[parts.length - 1] ?? '', interior: parts.slice(1, -1).filter(Boolean) }
}

/** OpenClaw's linear-time glob match (no regex: agent IDs here come from other Gateways). */
function wildcardMatch (p: Extract<Pattern, { kind: 'wildcard' }>, lower: string): boolean {
  let pos = p.first.length
  if (!lower.startsWith(p.first)) return false
  const end = lower.length - p.last.length
  if (!lower.endsWith(p.last) || end < pos) return false
  for (const part of p.interior) {
    const at = lower.indexOf(part, pos)
    if (at === -1 || at + part.length > end) return false
    pos = at + part.length
  }
  return true
}

/** `tools.agentToAgent`: enabled unless `enabled: false`; `allow` patterns must match both agents. */
export function agentToAgent (cfg: HostConfig): { enabled: boolean, isAllowed: (requester: string, target: string) => boolean } {
  const a2a = cfg.tools?.agentToAgent
  const enabled = a2a?.enabled !== false
  const patterns = (Array.isArray(a2a?.allow) ? a2a.allow : []).map(compile)
  const matches = (agentId: string): boolean => patterns.length === 0 || patterns.some(p =>
    p.kind === 'all' || (p.kind === 'exact' && p.value === agentId) || (p.kind === 'wildcard' && wildcardMatch(p, agentId.toLowerCase())))
  return {
    enabled,
    isAllowed: (requester, target) => requester === target || (enabled && matches(requester) && matches(target))
  }
}

function prefix (action: AccessAction): string {
  return action === 'list' ? 'Session list' : 'Session send'
}

/** Whether a session of `requesterAgentId` may reach a session of `targetAgentId` on another Gateway; undefined means yes. */
export function crossGatewayDenial (cfg: HostConfig, action: AccessAction, requesterAgentId: string, targetAgentId: string): Denial | undefined {
  const visibility = visibilityOf(cfg)
  if (requesterAgentId !== targetAgentId) {
    const a2a = agentToAgent(cfg)
    if (visibility !== 'all') {
      return { reason: 'cross_agent_visibility_restricted', message: `${prefix(action)} visibility is restricted. Set tools.sessions.visibility=all to allow cross-agent access; use tools.agentToAgent to restrict permitted agent pairs.` }
    }
    if (!a2a.enabled) {
      return {
        reason: 'agent_to_agent_disabled',
        message: action === 'send'
          ? 'Agent-to-agent messaging is disabled. Set tools.agentToAgent.enabled=true to allow cross-agent sends.'
          : 'Agent-to-agent listing is disabled. Set tools.agentToAgent.enabled=true to allow cross-agent visibility.'
      }
    }
    if (!a2a.isAllowed(requesterAgentId, targetAgentId)) {
      return { reason: 'agent_to_agent_not_allowed', message: `Agent-to-agent ${action === 'send' ? 'messaging' : 'listing'} denied by tools.agentToAgent.allow.` }
    }
    return undefined
  }
  if (visibility === 'self') return { reason: 'self_visibility_restricted', message: `${prefix(action)} visibility is restricted to the current session (tools.sessions.visibility=self).` }
  if (visibility === 'tree') return { reason: 'tree_visibility_restricted', message: `${prefix(action)} visibility is restricted to the current session tree (tools.sessions.visibility=tree).` }
  return undefined
}

/** `agent:<id>:<rest>` → `<id>`, lower-cased as OpenClaw normalises it. */
export function agentIdOfKey (sessionKey: string | undefined): string | undefined {
  if (sessionKey === undefined) return undefined
  const m = /^agent:([^:]+):./i.exec(sessionKey)
  return m?.[1]?.toLowerCase()
}
