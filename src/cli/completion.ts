/** What shell completion offers beyond commands and options: the names of the nodes running here. */
import { readdirSync } from 'node:fs'
import { CONTROL_SOCKET_SUFFIX, controlDir } from '../control/protocol.ts'
import { resolveStateDir } from '../security/secret.ts'

/** Names of the nodes with a control socket in the default state directory (none when it cannot be read). */
export function completeNodeNames (stateDir: string = resolveStateDir({})): string[] {
  try {
    return readdirSync(controlDir(stateDir)).filter(f => f.endsWith(CONTROL_SOCKET_SUFFIX)).map(f => f.slice(0, -CONTROL_SOCKET_SUFFIX.length)).sort()
  } catch {
    return []
  }
}
