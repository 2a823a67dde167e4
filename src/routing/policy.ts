/** Inbound policy: which remote Gateways may reach which local sessions. */
import { MeshError } from '../errors.ts'
import { globToRegExp } from '../util/pattern.ts'
import type { InboundPolicy, PolicyRule } from '../types.ts'

interface CompiledRule {
  source: PolicyRule
  from: RegExp
  sessionKey: RegExp
}

function compile (rule: PolicyRule): CompiledRule {
  return { source: rule, from: globToRegExp(rule.from ?? '*'), sessionKey: globToRegExp(rule.sessionKey ?? '*') }
}

function describe (rule: PolicyRule): string {
  return `{ from: "${rule.from ?? '*'}", sessionKey: "${rule.sessionKey ?? '*'}" }`
}

/**
 * Compiles a policy into a check that throws `FORBIDDEN` naming the rule that
 * decided. No policy: every mesh member may reach every announced session.
 */
export function compilePolicy (policy: InboundPolicy | undefined): (from: { name: string, peerId: string }, sessionKey: string) => void {
  const allow = policy?.allow?.map(compile)
  const deny = (policy?.deny ?? []).map(compile)
  const matches = (rule: CompiledRule, from: { name: string, peerId: string }, sessionKey: string): boolean =>
    (rule.from.test(from.name) || rule.from.test(from.peerId)) && rule.sessionKey.test(sessionKey)
  return (from, sessionKey) => {
    const denied = deny.find(rule => matches(rule, from, sessionKey))
    if (denied !== undefined) {
      throw new MeshError('FORBIDDEN', `Gateway ${from.name} may not reach ${sessionKey}: denied by policy rule deny ${describe(denied.source)}`)
    }
    if (allow !== undefined && !allow.some(rule => matches(rule, from, sessionKey))) {
      throw new MeshError('FORBIDDEN', `Gateway ${from.name} may not reach ${sessionKey}: no policy allow rule matches (allow: ${allow.map(r => describe(r.source)).join(', ')})`)
    }
  }
}
