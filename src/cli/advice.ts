/**
 * What to do about a `MeshError`, in the CLI's words: the library's hint
 * (`MeshError.hint`) names its API; a person at a terminal gets the command
 * to run instead.
 */
import type { MeshError } from '../errors.ts'

/** One line of advice for `err`, or undefined when its message says enough. */
export function cliAdvice (err: MeshError): string | undefined {
  const hint = err.hint
  switch (hint?.kind) {
    case 'list-sessions':
      return hint.gateway === undefined
        ? '`clawmesh sessions` lists the sessions of the mesh; `gateway:<gateway>:<key>` names one on a given Gateway'
        : `\`clawmesh sessions --owner ${hint.gateway}\` lists ${hint.gateway}'s sessions`
    case 'list-gateways':
      return '`clawmesh peers` lists the connected Gateways, `clawmesh sessions` every Gateway with sessions'
    case 'pick-candidate':
      return 'send to one of the qualified keys, or pick the Gateway with --gateway'
    case 'check-gateway':
      return `\`clawmesh peers\` shows whether ${hint.gateway} is connected; \`clawmesh doctor\` checks why it cannot be reached`
    case 'raise-limit':
      return `send less, or raise ${hint.option} (now ${hint.limit} bytes) on ${hint.gateway ?? 'this Gateway'}`
    default:
      return undefined
  }
}
