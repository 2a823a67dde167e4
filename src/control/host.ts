/**
 * The control surface of a running mesh node: its control socket
 * (`<stateDir>/run/<name>.sock`) answering `status`, `peers`, `sessions`,
 * `resolve`, `send`, `secret`, `observe` and the invites (what `clawmesh top` and
 * `clawmesh doctor` ask). `clawmesh run` and the OpenClaw plugin both serve it
 * through here, so a Gateway answers the CLI exactly as a standalone node does.
 */
import type { Mesh } from '../mesh.ts'
import { MeshObserver } from '../observe/snapshot.ts'
import { exportSecret, formatSecret, shareInstructions, type ResolvedSecret } from '../security/secret.ts'
import { controlSocketPath } from './protocol.ts'
import { startControlServer } from './server.ts'

export interface ControlHostInit {
  mesh: Mesh
  /** The clawmesh state directory: the socket goes to `<stateDir>/run/`. */
  stateDir: string
  /** The node's mesh name: names the socket (`clawmesh status --node <name>`). */
  name: string
  /** The secret the mesh runs on, for `clawmesh secret` (the socket is private to this user, as the key file is). */
  secret: ResolvedSecret
  /** The bootstrap addresses the node was started with (what `clawmesh doctor` probes). */
  bootstrap: string[]
}

export interface ControlHost {
  /** The socket path. */
  readonly path: string
  /** Closes the socket and stops the live view. Idempotent. */
  stop: () => Promise<void>
}

/** Starts the live view and the control socket; fails (leaving nothing running) when another live node holds the name. */
export async function serveControl (init: ControlHostInit): Promise<ControlHost> {
  const { mesh, secret } = init
  // What `clawmesh top` draws, asked for over the control socket.
  const observer = new MeshObserver(mesh)
  observer.start()
  try {
    const control = await startControlServer({
      mesh,
      path: controlSocketPath(init.stateDir, init.name),
      info: { name: init.name, meshId: secret.meshId, stateDir: init.stateDir, bootstrap: init.bootstrap },
      snapshot: () => observer.snapshot(),
      invites: {
        create: async (params) => await mesh.invite(params),
        list: () => mesh.invites(),
        revoke: async (id) => await mesh.revokeInvite(id)
      },
      secret: () => ({
        meshId: secret.meshId,
        hex: exportSecret(secret),
        swarmKey: formatSecret(secret),
        instructions: shareInstructions(secret),
        source: secret.source,
        ...(secret.path !== undefined ? { path: secret.path } : {})
      })
    })
    return {
      path: control.path,
      stop: async () => {
        await control.stop()
        observer.stop()
      }
    }
  } catch (err) {
    observer.stop()
    throw err
  }
}
