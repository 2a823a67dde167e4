/**
 * Inbound policy: which remote Gateways may reach which local sessions.
 *
 * Identity is the peer ID that Noise proved for the connection. A rule's
 * `from` matches that peer ID, or a *name* the registry gives that peer ID
 * when the check runs: names are conveniences that resolve to peer IDs. A
 * name held by several Gateways at once (see routing/address.ts) is fail-closed:
 * it matches each of them for `deny`, none of them for `allow`. Names follow
 * the naming rules, so no name can pass for a peer ID.
 */
import { MeshError } from '../errors.ts'
import { globToRegExp } from '../util/pattern.ts'
import type { OwnerDirectory } from './directory.ts'
import type { InboundPolicy, PolicyRule } from '../types.ts'

interface CompiledRule {
  source: PolicyRule
  from: RegExp
  sessionKey: RegExp
}

/** Throws `FORBIDDEN`, naming the rule that decided, when `peerId` may not reach the local `sessionKey`. */
export type PolicyCheck = (peerId: string, sessionKey: string) => void

function compile (rule: PolicyRule): CompiledRule {
  return { source: rule, from: globToRegExp(rule.from ?? '*'), sessionKey: globToRegExp(rule.sessionKey ?? '*') }
}

function describe (rule: PolicyRule): string {
  return `{ from: "${rule.from ?? '*'}", sessionKey: "${rule.sessionKey ?? '*'}" }`
}

/** No policy: every mesh member may reach every announced session. */
export function compilePolicy (policy: InboundPolicy | undefined, directory: Pick<OwnerDirectory, 'gateway' | 'gatewaysNamed'>): PolicyCheck {
  const allow = policy?.allow?.map(compile)
  const deny = (policy?.deny ?? []).map(compile)
  const nameOf = (peerId: string): { name?: string, shared: boolean } => {
    const name = directory.gateway(peerId)?.name
    if (name === undefined) return { shared: false }
    return { name, shared: directory.gatewaysNamed(name).length > 1 }
  }
  const matches = (rule: CompiledRule, peerId: string, name: { name?: string, shared: boolean }, sessionKey: string, forAllow: boolean): boolean => {
    if (!rule.sessionKey.test(sessionKey)) return false
    if (rule.from.test(peerId)) return true
    if (name.name === undefined || (forAllow && name.shared)) return false
    return rule.from.test(name.name)
  }
  return (peerId, sessionKey) => {
    if (allow === undefined && deny.length === 0) return
    const name = nameOf(peerId)
    const who = `Gateway ${name.name ?? peerId} (${peerId})`
    const denied = deny.find(rule => matches(rule, peerId, name, sessionKey, false))
    if (denied !== undefined) {
      throw new MeshError('FORBIDDEN', `${who} may not reach ${sessionKey}: denied by policy rule deny ${describe(denied.source)}`)
    }
    if (allow !== undefined && !allow.some(rule => matches(rule, peerId, name, sessionKey, true))) {
      const shared = name.shared ? ` (its name "${name.name ?? ''}" is held by several Gateways, so allow rules by that name match none of them)` : ''
      throw new MeshError('FORBIDDEN', `${who} may not reach ${sessionKey}: no policy allow rule matches${shared} (allow: ${allow.map(r => describe(r.source)).join(', ')})`)
    }
  }
}
