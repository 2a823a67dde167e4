/**
 * Shell completion: what `clawmesh complete -- …` offers at each Tab, the scripts
 * `clawmesh completion <shell>` prints, and the bash script completing for real
 * in bash (with the bash-completion package, as a user has it; skipped where that
 * is missing, except in CI).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { BIN, clawmesh } from './helpers.ts'

const exec = promisify(execFile)
const BASH_COMPLETION = '/usr/share/bash-completion/bash_completion'

/** The values offered (the part before each tab), without the directive line. */
function offered (stdout: string): string[] {
  return stdout.split('\n').filter(l => l !== '' && !l.startsWith(':')).map(l => l.split('\t')[0] as string)
}

describe('shell completion', () => {
  let home: string

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'clawmesh-completion-'))
    // Two "running" nodes as completion sees them: their control sockets' names.
    await mkdir(join(home, 'run'))
    await writeFile(join(home, 'run', 'hq.sock'), '')
    await writeFile(join(home, 'run', 'hangzhou.sock'), '')
  })

  after(async () => { await rm(home, { recursive: true, force: true }) })

  it('offers commands, each command\'s options, and the running nodes for --node', async () => {
    const commands = await clawmesh(['complete', '--', 's'])
    assert.equal(commands.code, 0, commands.stderr)
    assert.deepEqual(offered(commands.stdout).sort(), ['secret', 'send', 'sessions', 'status'])
    assert.match(commands.stdout, /\n:\d+\n$/, 'ends with the directive line')
    const options = await clawmesh(['complete', '--', 'top', '--'])
    for (const o of ['--json', '--node', '--state-dir', '--interval', '--once']) assert.ok(offered(options.stdout).includes(o), o)
    const nodes = await clawmesh(['complete', '--', 'status', '--node', ''], { env: { CLAWMESH_HOME: home } })
    assert.deepEqual(offered(nodes.stdout), ['hangzhou', 'hq'])
  })

  it('prints a script for each shell it knows, and refuses others', async () => {
    assert.match((await clawmesh(['completion', 'zsh'])).stdout, /^#compdef clawmesh/)
    assert.match((await clawmesh(['completion', 'fish'])).stdout, /complete -c clawmesh/)
    assert.match((await clawmesh(['completion', 'powershell'])).stdout, /Register-ArgumentCompleter/)
    const bad = await clawmesh(['completion', 'tcsh'])
    assert.equal(bad.code, 2)
  })

  const skip = !existsSync(BASH_COMPLETION) ? (process.env.CI === 'true' ? false : 'bash-completion not installed') : false
  it('completes in bash', { skip }, async () => {
    // `clawmesh` on PATH, as an installed package puts it.
    const bin = join(home, 'bin')
    await mkdir(bin, { recursive: true })
    await writeFile(join(bin, 'clawmesh'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`)
    await chmod(join(bin, 'clawmesh'), 0o755)
    const script = (await clawmesh(['completion', 'bash'])).stdout
    await writeFile(join(home, 'clawmesh.bash'), script)
    const tab = async (line: string): Promise<string[]> => {
      const words = line.split(' ')
      const program = [
        `source ${BASH_COMPLETION}`,
        `source '${join(home, 'clawmesh.bash')}'`,
        `COMP_LINE='${line}'; COMP_POINT=${line.length}; COMP_WORDS=(${words.map(w => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}`,
        '__clawmesh_complete',
        'printf "%s\\n" "${COMPREPLY[@]}"'
      ].join('\n')
      const { stdout } = await exec('bash', ['-c', program], { env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, CLAWMESH_HOME: home } })
      return stdout.split('\n').filter(Boolean).sort()
    }
    assert.deepEqual(await tab('clawmesh se'), ['secret', 'send', 'sessions'])
    assert.deepEqual(await tab('clawmesh peers --node h'), ['hangzhou', 'hq'])
  })
})
