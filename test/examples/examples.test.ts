// Every example is run as a user would run it, and its output checked.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'

const run = promisify(execFile)

describe('examples', () => {
  it('01-two-gateways walks through the seed scenario', async () => {
    const { stdout } = await run(process.execPath, ['examples/01-two-gateways.ts'], { timeout: 60_000 })
    assert.match(stdout, /\[hangzhou agent:main:main\] got "hello from hq" from hq/)
    assert.match(stdout, /\[hangzhou agent:main:main\] got "hello by port" from hq/)
    assert.match(stdout, /\[hangzhou agent:main:main\] got "hello by UUID" from hq/)
    assert.match(stdout, /\[hq agent:main:main\] got "hello, me"/)
    assert.match(stdout, /AMBIGUOUS: .*gateway:hangzhou:agent:main:main.*gateway:hq:agent:main:main/)
    assert.match(stdout, /UNREACHABLE: Gateway hangzhou/)
    assert.match(stdout, /== done/)
  })
})
