/**
 * `clawmesh invite` (on a member: print a code for one new Gateway, list or
 * revoke codes) and `clawmesh join <code>` (on the new Gateway: redeem it,
 * store the secret, remember where the inviter is).
 */
import { join } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { safeName, type InviteResult } from '../control/protocol.ts'
import { decodeInvite } from '../invite/code.ts'
import { fields, paint, printJson, reportError, shortId, table } from './output.ts'
import type { ControlClient } from '../control/client.ts'
import type { InviteInfo } from '../types.ts'

interface ClientOptions { json?: boolean, node?: string, stateDir?: string }
type ClientCommand = (program: Command, name: string, description: string) => Command
type WithNode = (options: ClientOptions, fn: (client: ControlClient) => Promise<void>) => Promise<void>

/** `30m`, `2h`, `7d`, `90s` or a number of seconds → milliseconds. */
export function duration (value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(value.trim())
  if (m === null) throw new InvalidArgumentError('a duration such as 90s, 30m, 2h or 7d')
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd']
  return Math.round(Number(m[1]) * unit)
}

function collect (value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

export function formatInvite (r: InviteResult): string {
  const until = new Date(r.expiresAt * 1000).toISOString().replace('T', ' ').slice(0, 16) + ' UTC'
  return [
    `Invite ${r.id} to mesh ${r.meshId}, for one Gateway, valid until ${until}.`,
    'On the new Gateway run:',
    '',
    `  clawmesh join ${r.code}`,
    '',
    'It will dial this Gateway at:',
    ...r.addresses.map(a => `  ${a}${a.includes('/p2p-circuit/') ? paint('dim', '  (through a relay member)') : ''}`),
    '',
    paint('yellow', 'Whoever holds this code can join until it is used or expires: send it privately.'),
    `Revoke it: clawmesh invite --revoke ${r.id}`
  ].join('\n') + '\n'
}

export function formatInvites (list: InviteInfo[]): string {
  if (list.length === 0) return 'no invites\n'
  return table(list, [
    { header: 'INVITE', value: i => i.id },
    { header: 'STATE', value: i => i.state, style: i => i.state === 'open' ? 'green' : 'dim' },
    { header: 'EXPIRES', value: i => new Date(i.expiresAt).toISOString() },
    { header: 'USED BY', value: i => i.usedBy !== undefined ? shortId(i.usedBy) : '-' }
  ]) + '\n'
}

export function addInviteCommands (program: Command, clientCommand: ClientCommand, withNode: WithNode): void {
  clientCommand(program, 'invite', 'print a one-time code that lets one new Gateway join this mesh (or list/revoke codes)')
    .option('--ttl <duration>', 'how long the code is valid (90s, 30m, 2h, 7d)', duration)
    .option('--address <multiaddr>', 'put this address in the code instead of the node\'s own (repeatable), e.g. a port forwarded on the router', collect)
    .option('--list', 'the invites this node handed out, and their state')
    .option('--revoke <id>', 'stop accepting an invite that was not used yet')
    .addHelpText('after', '\nThe code carries a one-off key and token, not the mesh secret: the new Gateway gets the secret\nfrom this node over an encrypted, authenticated connection, once. See docs/security.md.')
    .action(async (opts: ClientOptions & { ttl?: number, address?: string[], list?: boolean, revoke?: string }) => {
      await withNode(opts, async c => {
        if (opts.list === true) {
          const list = await c.request('invites')
          if (opts.json === true) printJson(list)
          else process.stdout.write(formatInvites(list))
          return
        }
        if (opts.revoke !== undefined) {
          const r = await c.request('revokeInvite', { id: opts.revoke })
          if (opts.json === true) printJson(r)
          else process.stdout.write(r.revoked ? `invite ${opts.revoke} revoked: its code no longer gets anyone in\n` : `no open invite ${opts.revoke} (used, expired, revoked or unknown)\n`)
          return
        }
        const r = await c.request('invite', { ...(opts.ttl !== undefined ? { ttlMs: opts.ttl } : {}), ...(opts.address !== undefined ? { addresses: opts.address } : {}) })
        if (opts.json === true) printJson(r)
        else process.stdout.write(formatInvite(r))
      })
    })

  program.command('join')
    .description('join a mesh with a code from `clawmesh invite`: stores the mesh secret and where the inviter is')
    .argument('<code>', 'the invite code (clawmesh-invite:…)')
    .option('--name <name>', 'join as the Gateway that `clawmesh run --name <name>` starts (same peer ID)')
    .option('--state-dir <dir>', 'state directory (default: $CLAWMESH_HOME, $XDG_STATE_HOME/clawmesh or ~/.clawmesh)')
    .option('--json', 'machine-readable output')
    .action(async (text: string, opts: { name?: string, stateDir?: string, json?: boolean }) => {
      try {
        // Loaded on demand: the control commands start fast without libp2p.
        const [{ joinByInvite, saveJoin }, { loadIdentity }, { resolveStateDir }] = await Promise.all([
          import('../invite/index.ts'), import('../identity.ts'), import('../security/secret.ts')
        ])
        const stateDir = resolveStateDir(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {})
        const code = decodeInvite(text)
        const privateKey = opts.name !== undefined ? await loadIdentity(join(stateDir, 'nodes', safeName(opts.name))) : undefined
        const joined = await joinByInvite(text, privateKey !== undefined ? { privateKey } : {})
        const record = { meshId: code.meshId, inviteId: code.id, inviter: code.peer, peers: joined.peers, joinedAt: Date.now() }
        const path = await saveJoin(stateDir, joined.secret, record)
        if (opts.json === true) {
          printJson({ ...record, keyFile: path, stateDir })
          return
        }
        process.stdout.write(fields([
          ['Joined', `mesh ${code.meshId} (invite ${code.id})`],
          ['Inviter', code.peer],
          ['Secret', `${path} (mode 0600)`],
          ['Dials', joined.peers.join('\n' + ' '.repeat(9))]
        ]) + `\nStart the Gateway: clawmesh run${opts.name !== undefined ? ` --name ${opts.name}` : ''}${opts.stateDir !== undefined ? ` --state-dir ${opts.stateDir}` : ''}\n`)
      } catch (err) {
        process.exitCode = reportError(err, opts.json === true)
      }
    })
}
