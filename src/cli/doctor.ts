/** `clawmesh doctor`: runs the checks of `src/doctor/` and prints them, one line each, with what to do. */
import { runDoctor, type DoctorOptions } from '../doctor/doctor.ts'
import type { CheckStatus, DoctorReport } from '../doctor/report.ts'
import { EXIT, paint, printJson } from './output.ts'

export interface DoctorCliOptions {
  json?: boolean
  node?: string
  stateDir?: string
  peer: string[]
  mdns: boolean
  timeout: number
  openclawConfig?: string
}

const LABEL: Record<CheckStatus, string> = { ok: 'ok', warn: 'warn', fail: 'FAIL', skip: 'skip' }
const STYLE: Record<CheckStatus, Parameters<typeof paint>[0]> = { ok: 'green', warn: 'yellow', fail: ['red', 'bold'], skip: 'dim' }

/** The exit code of a report: 0 when nothing is wrong, else the worst finding. */
export function doctorExitCode (r: DoctorReport): number {
  return r.worst === 'fail' ? EXIT.DOCTOR_FAIL : r.worst === 'warn' ? EXIT.DOCTOR_WARN : EXIT.OK
}

export function formatDoctor (r: DoctorReport, verbose = false, out: NodeJS.WriteStream = process.stdout): string {
  const width = Math.max(...r.checks.map(c => c.title.length))
  const indent = ' '.repeat(6 + width + 2)
  const lines = [paint('bold', `clawmesh doctor`, out) + paint('dim', `  state folder ${r.stateDir}${r.node !== undefined ? `, node ${r.node}` : ''}`, out), '']
  for (const c of r.checks) {
    lines.push(`${paint(STYLE[c.status], LABEL[c.status].padEnd(4), out)}  ${c.title.padEnd(width)}  ${c.summary}`)
    if (c.fix !== undefined && c.status !== 'ok' && c.status !== 'skip') lines.push(`${indent}${paint('bold', '→', out)} ${c.fix}`)
    if ((verbose || c.status === 'warn' || c.status === 'fail') && c.details !== undefined) {
      for (const d of c.details) lines.push(paint('dim', `${indent}  ${d}`, out))
    }
  }
  const n = r.counts
  const tally = [`${n.ok} ok`, `${n.warn} warning${n.warn === 1 ? '' : 's'}`, `${n.fail} failure${n.fail === 1 ? '' : 's'}`, ...(n.skip > 0 ? [`${n.skip} skipped`] : [])].join(' · ')
  lines.push('', r.worst === 'fail' ? paint(['red', 'bold'], tally, out) : r.worst === 'warn' ? paint('yellow', tally, out) : paint('green', tally, out))
  return lines.join('\n') + '\n'
}

export async function doctorCommand (opts: DoctorCliOptions & { verbose?: boolean }): Promise<number> {
  const options: DoctorOptions = {
    peers: opts.peer,
    mdns: opts.mdns,
    timeoutMs: Math.round(opts.timeout * 1000),
    ...(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {}),
    ...(opts.node !== undefined ? { node: opts.node } : {}),
    ...(opts.openclawConfig !== undefined ? { openclawConfig: opts.openclawConfig } : {})
  }
  const r = await runDoctor(options)
  const code = doctorExitCode(r)
  if (opts.json === true) printJson({ ...r, exitCode: code })
  else process.stdout.write(formatDoctor(r, opts.verbose === true))
  return code
}
