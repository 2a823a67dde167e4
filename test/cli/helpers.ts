/** Run the `clawmesh` command as a user would: a real process, output read line by line. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/clawmesh.js', import.meta.url))

export interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * A command prefix that runs `node bin/clawmesh.js` as user `nobody`, for tests of who may reach what.
 * The checkout and the Node binary may live in folders other users cannot traverse (CI clones into a
 * private temporary folder; Node 24 sits in root's cache), so both are bind-mounted, in a private mount
 * namespace that vanishes with the process, onto a fresh folder anyone can traverse. Needs root.
 */
export async function asNobody (): Promise<{ prefix: string[], node: string, bin: string, cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'clawmesh-nobody-'))
  await chmod(root, 0o755)
  await Promise.all([mkdir(join(root, 'node')), mkdir(join(root, 'repo'))])
  const nodePrefix = dirname(dirname(process.execPath))
  const repo = dirname(dirname(BIN))
  const script = 'mount --bind "$1" "$3/node" && mount --bind "$2" "$3/repo" && shift 3 && exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"'
  return {
    prefix: ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', nodePrefix, repo, root],
    node: join(root, 'node', relative(nodePrefix, process.execPath)),
    bin: join(root, 'repo', relative(repo, BIN)),
    cleanup: async () => { await rm(root, { recursive: true, force: true }) }
  }
}

/** Runs `clawmesh <args>` to completion (bounded by `deadlineMs`). */
export async function clawmesh (args: string[], options: { env?: NodeJS.ProcessEnv, deadlineMs?: number, prefix?: string[], node?: string, bin?: string } = {}): Promise<Finished> {
  const prefix = options.prefix ?? []
  const node = options.node ?? process.execPath
  const bin = options.bin ?? BIN
  const command = prefix.length > 0 ? prefix[0] as string : node
  const argv = prefix.length > 0 ? [...prefix.slice(1), node, bin, ...args] : [bin, ...args]
  const child = spawn(command, argv, { env: { ...process.env, NO_COLOR: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const deadline = options.deadlineMs ?? 20_000
  return await new Promise<Finished>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`clawmesh ${args.join(' ')} did not finish within ${deadline} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, deadline)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

export interface Running {
  child: ChildProcess
  /** Every stdout line so far, parsed when JSON. */
  lines: () => string[]
  stderr: () => string
  /** The first line (past or future) `match` accepts; rejects after `deadlineMs` or on exit. */
  waitLine: (match: (line: string) => boolean, what: string, deadlineMs?: number) => Promise<string>
  /** The first JSON event (past or future) `match` accepts. */
  waitEvent: (match: (event: Record<string, unknown>) => boolean, what: string, deadlineMs?: number) => Promise<Record<string, unknown>>
  /** Resolves with the exit code once the process exits by itself; rejects after `deadlineMs`. */
  exited: (deadlineMs?: number) => Promise<number | null>
  /** Sends `signal` and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals, deadlineMs?: number) => Promise<number | null>
}

function parse (line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line)
    return typeof v === 'object' && v !== null ? v as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/** Starts a long-running `clawmesh <args>` (e.g. `run`). */
export function start (args: string[], options: SpawnOptions & { env?: NodeJS.ProcessEnv } = {}): Running {
  const child = spawn(process.execPath, [BIN, ...args], { ...options, env: { ...process.env, NO_COLOR: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  let buffer = ''
  let stderr = ''
  let exited = false
  const waiters = new Set<() => void>()
  const wake = (): void => { for (const w of [...waiters]) w() }
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    buffer += d
    let nl
    while ((nl = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, nl))
      buffer = buffer.slice(nl + 1)
    }
    wake()
  })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const exit = new Promise<number | null>(resolve => { child.on('exit', (code) => { exited = true; wake(); resolve(code) }) })
  const waitLine = async (match: (line: string) => boolean, what: string, deadlineMs = 15_000): Promise<string> => {
    return await new Promise<string>((resolve, reject) => {
      const check = (): void => {
        const hit = lines.find(match)
        if (hit !== undefined) { done(); resolve(hit); return }
        if (exited) { done(); reject(new Error(`clawmesh exited before ${what}\nstdout: ${lines.join('\n')}\nstderr: ${stderr}`)) }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`no ${what} within ${deadlineMs} ms\nstdout: ${lines.join('\n')}\nstderr: ${stderr}`)) }, deadlineMs)
      const done = (): void => { clearTimeout(timer); waiters.delete(check) }
      waiters.add(check)
      check()
    })
  }
  return {
    child,
    lines: () => [...lines],
    stderr: () => stderr,
    waitLine,
    waitEvent: async (match, what, deadlineMs) => {
      const line = await waitLine(l => { const e = parse(l); return e !== undefined && match(e) }, what, deadlineMs)
      return parse(line) as Record<string, unknown>
    },
    exited: async (deadlineMs = 15_000) => {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => { reject(new Error(`clawmesh did not exit within ${deadlineMs} ms\nstdout: ${lines.join('\n')}\nstderr: ${stderr}`)) }, deadlineMs)
      })
      try {
        return await Promise.race([exit, late])
      } finally {
        clearTimeout(timer)
      }
    },
    stop: async (signal = 'SIGTERM', deadlineMs = 10_000) => {
      if (!exited) child.kill(signal)
      const timer = setTimeout(() => { child.kill('SIGKILL') }, deadlineMs)
      try {
        return await exit
      } finally {
        clearTimeout(timer)
      }
    }
  }
}
