/**
 * The `clawmesh` command. The only code of clawmesh that writes to the console.
 *
 *   clawmesh run --name hq --gateway-port 18789 --session agent:main:main
 *   clawmesh status | peers | sessions | resolve TARGET | send TARGET MESSAGE | secret | top
 *   clawmesh invite [--ttl 2h] | invite --list | invite --revoke ID   (on a member)
 *   clawmesh join CODE                                                (on a new Gateway, then `run`)
 *   clawmesh doctor
 *   clawmesh demo
 *   clawmesh completion bash|zsh|fish|powershell
 *
 * `run` and `demo` start mesh nodes; `doctor` checks the setup (asking a running
 * node and probing the network itself); every other command talks to a running
 * node through its control socket (`<stateDir>/run/<name>.sock`).
 * Exit codes: see `EXIT` and `MESH_EXIT_CODES` in ./output.ts and docs/operations.md.
 */
import { readFileSync } from 'node:fs'
import tab from '@bomb.sh/tab/commander'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { connectToNode, type ControlClient } from '../control/client.ts'
import type { SecretResult } from '../control/protocol.ts'
import { exportSecret, formatSecret, generateSecret, parseSecret, resolveSecret, resolveStateDir, shareInstructions } from '../security/secret.ts'
import { EXIT, MESH_EXIT_CODES, paint, printJson, reportError } from './output.ts'
import { formatPeers, formatResolution, formatSendResult, formatSessions, formatStatus } from './views.ts'
import { addInviteCommands } from './invite.ts'
import type { RunOptions } from './run.ts'
import type { TopOptions } from './top.ts'
import { completeNodeNames } from './completion.ts'

/** The package version (src/cli and dist/cli are both two levels below package.json). */
function version (): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

interface ClientOptions {
  json?: boolean
  node?: string
  stateDir?: string
}

const exitCodesHelp = `
Exit codes:
  0   success
  1   unexpected failure
  2   usage error (bad arguments; several nodes run and no --node)
  3   no node answers on the control socket (not running, or another user's)
  4   the mesh secret cannot be parsed
  5   doctor: warnings (nothing failed)
  6   doctor: a check failed
${Object.entries(MESH_EXIT_CODES).map(([code, n]) => `  ${String(n).padEnd(3)} ${code}`).join('\n')}
`

function clientCommand (program: Command, name: string, description: string): Command {
  return program.command(name)
    .description(description)
    .option('--json', 'machine-readable output')
    .option('--node <name>', 'the running node to ask (needed when several run)')
    .option('--state-dir <dir>', 'state directory (default: $CLAWMESH_HOME, $XDG_STATE_HOME/clawmesh or ~/.clawmesh)')
}

/** Connects, runs `fn`, closes; errors become exit codes. */
async function withNode (options: ClientOptions, fn: (client: ControlClient) => Promise<void>): Promise<void> {
  const stateDir = resolveStateDir(options.stateDir !== undefined ? { stateDir: options.stateDir } : {})
  let client: ControlClient | undefined
  try {
    client = await connectToNode(stateDir, options.node)
    await fn(client)
  } catch (err) {
    process.exitCode = reportError(err, options.json === true)
  } finally {
    client?.close()
  }
}

function seconds (value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number of seconds')
  return n
}

function port (value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('a TCP port (1-65535)')
  return n
}

function metricsPort (value: string): number {
  return value === '0' ? 0 : port(value)
}

/** `2,1`, `2` or `1`: the wire versions to speak. */
function wireVersions (value: string): Array<1 | 2> {
  const versions = value.split(',').map(v => Number(v.trim()))
  if (versions.length === 0 || versions.some(v => v !== 1 && v !== 2) || new Set(versions).size !== versions.length) throw new InvalidArgumentError('wire versions: 2,1 (the default), 2 or 1')
  return versions as Array<1 | 2>
}

function collect (value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

function printSecret (s: Pick<SecretResult, 'meshId' | 'instructions' | 'source' | 'path'>): void {
  process.stdout.write(s.instructions + '\n')
  const origin = s.source === 'file-created' ? `created ${s.path ?? ''}` : s.source === 'file' ? `from ${s.path ?? ''}` : `from ${s.source}`
  process.stderr.write(paint('dim', `(secret of mesh ${s.meshId}, ${origin})`, process.stderr) + '\n')
}

export function buildProgram (): Command {
  const program = new Command()
  program
    .name('clawmesh')
    .description('See and drive a clawmesh: several OpenClaw Gateways working as one.')
    .version(version())
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', exitCodesHelp)
    .exitOverride()

  program.command('run')
    .description('run a standalone mesh node (for a Gateway not yet integrated, or to test); Ctrl-C stops it')
    .option('--name <name>', 'this Gateway\'s name in the mesh (default: <host>-<gateway port>)')
    .option('--gateway-port <port>', 'the OpenClaw Gateway port it stands for', port)
    .option('--session <key[=uuid]>', 'announce a session (repeatable); a UUID is made up when not given', collect, [])
    .option('--peer <multiaddr>', 'dial and keep connected this peer (repeatable; /ip4/…/tcp/…/p2p/…)', collect, [])
    .option('--listen <multiaddr>', 'listen address (repeatable; default /ip4/0.0.0.0/tcp/0)', collect, [])
    .option('--no-mdns', 'no multicast DNS discovery (LAN)')
    .option('--no-local', 'no same-host discovery through the state directory')
    .option('--relay', 'serve as a relay for members that other networks cannot reach (give this node a reachable --listen address)')
    .option('--state-dir <dir>', 'state directory: key file, rendezvous folder, control sockets')
    .option('--json', 'one JSON object per event on stdout instead of human text')
    .option('--metrics-port <port>', 'serve Prometheus metrics at http://127.0.0.1:<port>/metrics (0: any free port)', metricsPort)
    .option('--metrics-host <host>', 'address the metrics server binds (default 127.0.0.1)')
    .option('--wire <versions>', 'wire versions to speak: 2,1 (default), or 2 to refuse Gateways still on the previous release (docs/operations.md)', wireVersions)
    .addHelpText('after', '\nThe mesh secret comes from $CLAWMESH_SECRET or <state dir>/mesh.key (created when missing).\nInbound messages are answered with "<name> received: <text>".')
    .action(async (opts: RunOptions) => {
      try {
        // Loaded on demand: the control commands start fast without libp2p.
        const { runNode } = await import('./run.ts')
        await runNode(opts)
      } catch (err) {
        process.exitCode = reportError(err, opts.json === true)
      }
    })

  clientCommand(program, 'status', 'this node, its mesh and its counters')
    .action(async (opts: ClientOptions) => {
      await withNode(opts, async c => {
        const s = await c.request('status')
        if (opts.json === true) printJson(s)
        else process.stdout.write(formatStatus(s))
      })
    })

  clientCommand(program, 'peers', 'the Gateways this node is connected to')
    .action(async (opts: ClientOptions) => {
      await withNode(opts, async c => {
        const peers = await c.request('peers')
        if (opts.json === true) printJson(peers)
        else process.stdout.write(formatPeers(peers))
      })
    })

  clientCommand(program, 'sessions', 'every session in the mesh-wide registry, with its owner')
    .option('--owner <gateway>', 'only this Gateway\'s sessions (name, port or peer ID)')
    .action(async (opts: ClientOptions & { owner?: string }) => {
      await withNode(opts, async c => {
        const sessions = await c.request('sessions', opts.owner !== undefined ? { owner: opts.owner } : {})
        if (opts.json === true) printJson(sessions)
        else process.stdout.write(formatSessions(sessions))
      })
    })

  clientCommand(program, 'resolve', 'where a target would be delivered, without sending')
    .argument('<target>', 'gateway:<gw>:<key>, a session UUID, a bare key or a label')
    .option('--gateway <gw>', 'route to this Gateway (name, port, host:port or peer ID)')
    .option('--no-local-first', 'a bare key owned here and elsewhere is AMBIGUOUS')
    .action(async (target: string, opts: ClientOptions & { gateway?: string, localFirst: boolean }) => {
      await withNode(opts, async c => {
        const r = await c.request('resolve', { target, ...(opts.gateway !== undefined ? { targetGateway: opts.gateway } : {}), ...(opts.localFirst ? {} : { localFirst: false }) })
        if (opts.json === true) printJson(r)
        else process.stdout.write(formatResolution(target, r))
      })
    })

  clientCommand(program, 'send', 'send a message to a session anywhere in the mesh')
    .argument('<target>', 'gateway:<gw>:<key>, a session UUID, a bare key or a label')
    .argument('<message>', 'the message text')
    .option('--no-wait', 'return once the owner has accepted the message, without waiting for the reply')
    // Waiting is the default (as mesh.send, `nats req` and sessions_send do); --wait stays accepted for old scripts.
    .addOption(new Option('--wait').hideHelp())
    .addOption(new Option('--timeout <seconds>', 'give up after this long').argParser(seconds).default(30))
    .option('--gateway <gw>', 'route to this Gateway (name, port, host:port or peer ID)')
    .option('--no-local-first', 'a bare key owned here and elsewhere is AMBIGUOUS')
    .action(async (target: string, message: string, opts: ClientOptions & { wait?: boolean, timeout: number, gateway?: string, localFirst: boolean }) => {
      await withNode(opts, async c => {
        const wait = opts.wait !== false
        const r = await c.request('send', {
          target,
          message,
          waitForReply: wait,
          timeoutMs: Math.round(opts.timeout * 1000),
          ...(opts.gateway !== undefined ? { targetGateway: opts.gateway } : {}),
          ...(opts.localFirst ? {} : { localFirst: false })
        })
        if (opts.json === true) printJson(r)
        else process.stdout.write(formatSendResult(r, wait))
      })
    })

  clientCommand(program, 'secret', 'print the mesh secret and how to install it on another machine')
    .option('--new', 'print a freshly generated secret (changes nothing; install it yourself to start a new mesh)')
    .addHelpText('after', '\nWithout --new: the running node\'s secret; with no node running, the one in the state directory (created when missing).')
    .action(async (opts: ClientOptions & { new?: boolean }) => {
      if (opts.new === true) {
        const parsed = parseSecret(generateSecret())
        const result = { meshId: parsed.meshId, hex: exportSecret(parsed), swarmKey: formatSecret(parsed), instructions: shareInstructions(parsed), source: 'new' }
        if (opts.json === true) printJson(result)
        else printSecret(result)
        return
      }
      const stateDir = resolveStateDir(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {})
      let result: SecretResult
      try {
        const client = await connectToNode(stateDir, opts.node).catch(() => undefined)
        if (client !== undefined) {
          try { result = await client.request('secret') } finally { client.close() }
        } else {
          const s = await resolveSecret({ stateDir })
          result = { meshId: s.meshId, hex: exportSecret(s), swarmKey: formatSecret(s), instructions: shareInstructions(s), source: s.source, ...(s.path !== undefined ? { path: s.path } : {}) }
        }
      } catch (err) {
        process.exitCode = reportError(err, opts.json === true)
        return
      }
      if (opts.json === true) printJson(result)
      else printSecret(result)
    })

  clientCommand(program, 'top', 'the mesh live: Gateways, links, RTT, sessions, send rates and errors (q quits)')
    .addOption(new Option('--interval <seconds>', 'time between frames').argParser(seconds).default(1))
    .option('--once', 'print one frame and exit')
    .addHelpText('after', '\nOn a terminal it redraws in place; piped, it prints a frame per interval; --json prints one snapshot per line.')
    .action(async (opts: ClientOptions & TopOptions) => {
      await withNode(opts, async c => {
        const { runTop } = await import('./top.ts')
        await runTop(c, opts)
      })
    })

  addInviteCommands(program, clientCommand, withNode)

  program.command('doctor')
    .description('check this machine\'s clawmesh setup and say what to fix (Node, key file, running node, secret, mDNS, bootstrap peers, OpenClaw)')
    .option('--json', 'the checks as JSON')
    .option('--node <name>', 'the running node to ask (when several run)')
    .option('--state-dir <dir>', 'state directory (default: $CLAWMESH_HOME, $XDG_STATE_HOME/clawmesh or ~/.clawmesh)')
    .option('--peer <multiaddr>', 'also probe this address, as a bootstrap peer (repeatable)', collect, [])
    .option('--no-mdns', 'skip the mDNS self-test (it sends one query to the LAN)')
    .addOption(new Option('--timeout <seconds>', 'give each network probe this long').argParser(seconds).default(5))
    .option('--openclaw-config <path>', 'the OpenClaw config to check (default: $OPENCLAW_CONFIG_PATH or ~/.openclaw/openclaw.json)')
    .option('-v, --verbose', 'print the details of every check, not only of warnings and failures')
    .addHelpText('after', '\nEach check prints ok, warn or FAIL with the one thing to do. Exit code: 0 all good, 5 warnings, 6 a failure.')
    .action(async (opts: { json?: boolean, node?: string, stateDir?: string, peer: string[], mdns: boolean, timeout: number, openclawConfig?: string, verbose?: boolean }) => {
      try {
        const { doctorCommand } = await import('./doctor.ts')
        process.exitCode = await doctorCommand(opts)
      } catch (err) {
        process.exitCode = reportError(err, opts.json === true)
      }
    })

  program.command('demo')
    .description('two Gateways in one process walk through the original problem (nothing to set up)')
    .addOption(new Option('--mdns', 'find each other by multicast DNS instead of the same-host rendezvous folder').default(false))
    .option('--state-dir <dir>', 'state directory to use (default: a temporary one, removed afterwards)')
    .action(async (opts: { mdns: boolean, stateDir?: string }) => {
      try {
        const { runDemo } = await import('./demo.ts')
        await runDemo(opts)
      } catch (err) {
        process.exitCode = reportError(err, false)
      }
    })

  // `clawmesh completion bash|zsh|fish|powershell` prints a script that asks `clawmesh complete -- …` at each Tab.
  const completion = tab(program, { completionCommandName: 'completion' })
  program.commands.find(c => c.name() === 'completion')?.description('print a shell completion script: source <(clawmesh completion bash)')
  for (const command of completion.commands.values()) {
    const node = command.options.get('node')
    if (node !== undefined) node.handler = complete => { for (const name of completeNodeNames()) complete(name, 'running node') }
  }
  return program
}

/** Parses `argv` and runs the command; resolves to the exit code. */
export async function main (argv: string[] = process.argv): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE
    }
    return reportError(err, false)
  }
  return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK
}

/** `clawmesh … | head` closes our stdout early: that is not an error. */
export function ignoreBrokenPipe (): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
      throw err
    })
  }
}

if (import.meta.main) {
  ignoreBrokenPipe()
  process.exitCode = await main()
}
