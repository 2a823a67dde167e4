// Every command that prints data can print it as JSON, for scripts.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildProgram } from '../../src/cli/main.ts'

/** Commands whose output is not data: a narrated walkthrough, a shell script, completion candidates, help. */
const NOT_DATA = new Set(['demo', 'completion', 'complete', 'help'])

describe('--json', () => {
  it('is an option of every command that prints data', () => {
    const commands = buildProgram().commands.filter(c => !NOT_DATA.has(c.name()))
    assert.ok(commands.length >= 8)
    const without = commands.filter(c => !c.options.some(o => o.long === '--json')).map(c => c.name())
    assert.deepEqual(without, [])
  })
})
