/**
 * The live page in a real headless browser (Debian's Chromium, driven by
 * playwright-core): three `clawmesh run` processes on 127.0.0.1 (multicast off,
 * found through a shared rendezvous folder), the page of the first one showing
 * every Gateway and session, a Gateway frozen with SIGSTOP (no goodbye, no
 * closed socket: only liveness can tell) marked unreachable, and names chosen
 * by a hostile member shown as text. The screenshot is kept in
 * bench/results/observe-page.png (a CI artifact; docs/img has the README's copy).
 *
 * Skipped where Chromium is missing, except in CI (`.ci/run` installs it).
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { chromium, type Browser, type Page } from 'playwright-core'
import { start, type Running } from '../cli/helpers.ts'

const CHROMIUM = process.env.CLAWMESH_CHROMIUM ?? '/usr/bin/chromium'
const missing = !existsSync(CHROMIUM)
if (missing && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium package`)

/** The flags this machine needs (no sandbox as root, and no calls home that its closed network would refuse). */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const RUN_FLAGS = ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--json']
const SCREENSHOT = resolve(import.meta.dirname, '..', '..', 'bench', 'results', 'observe-page.png')
/** The defaults a `clawmesh run` node uses: a peer silent this long is gone; the page polls this often. */
const PEER_SILENCE_MS = 4500
const PAGE_REFRESH_MS = 1000
/**
 * A hostile member's choices. Markup cannot be a Gateway name (names are `A-Z a-z 0-9 . _ -`, and a name
 * that breaks the rules in someone's record is ignored), so it rides in what a member still chooses freely:
 * its session keys (without `=`, which `--session KEY=UUID` splits on).
 */
const EVIL_NAME = 'evil'
const EVIL_KEYS = ['<iframe></iframe>', '<script>alert(2)</script>']

/**
 * Pixels of the page's "unreachable" red (#d32f2f) in a PNG, counted by the browser itself (no image
 * library needed). Browser code, so a string: this file is type-checked against Node, not the DOM.
 */
const COUNT_RED = `(async (data) => {
  const image = new Image()
  image.src = 'data:image/png;base64,' + data
  await image.decode()
  const canvas = document.createElement('canvas')
  canvas.width = image.width
  canvas.height = image.height
  const context = canvas.getContext('2d')
  context.drawImage(image, 0, 0)
  const pixels = context.getImageData(0, 0, image.width, image.height).data
  let red = 0
  for (let i = 0; i < pixels.length; i += 4) {
    if (Math.abs(pixels[i] - 211) < 20 && Math.abs(pixels[i + 1] - 47) < 20 && Math.abs(pixels[i + 2] - 47) < 20) red++
  }
  return red
})`

async function redPixels (browser: Browser, png: Buffer): Promise<number> {
  const scratch = await browser.newPage()
  try {
    return await scratch.evaluate(`${COUNT_RED}(${JSON.stringify(png.toString('base64'))})`) as number
  } finally {
    await scratch.close()
  }
}

describe('the live page in Chromium', { skip: missing ? `${CHROMIUM} not installed` : false }, () => {
  let stateDir: string
  const nodes: Running[] = []
  let browser: Browser
  let page: Page
  let url: string
  const peerIds = new Map<string, string>()
  const dialogs: string[] = []

  const run = async (name: string, extra: string[]): Promise<Running> => {
    const node = start(['run', '--name', name, '--state-dir', stateDir, ...extra, ...RUN_FLAGS])
    nodes.push(node)
    const ready = await node.waitEvent(e => e.event === 'ready', `${name} ready`, 30_000)
    peerIds.set(name, ready.peerId as string)
    return node
  }

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-page-'))
    const hq = await run('hq', ['--gateway-port', '18789', '--session', 'agent:main:main', '--metrics-port', '0'])
    await run('hangzhou', ['--gateway-port', '18790', '--session', 'agent:main:main', '--session', 'agent:research:main'])
    await run(EVIL_NAME, ['--gateway-port', '18791', ...EVIL_KEYS.flatMap(key => ['--session', key])])
    const ready = await hq.waitEvent(e => e.event === 'ready', 'hq ready')
    url = ready.page as string
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
    page.on('dialog', dialog => { dialogs.push(dialog.message()); void dialog.dismiss() })
    await page.goto(url)
  })

  after(async () => {
    await browser?.close()
    await Promise.all(nodes.map(async n => { await n.stop('SIGKILL') }))
    if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true })
  })

  it('shows every Gateway, in the picture and the table, and every session', async () => {
    for (const [name, peerId] of peerIds) {
      await page.locator(`#gateways tr[data-peer-id="${peerId}"][data-state="reachable"]`).waitFor({ timeout: 30_000 })
      await page.locator(`#topology g[data-peer-id="${peerId}"]`).waitFor()
      assert.equal(await page.locator(`#gateways tr[data-peer-id="${peerId}"] td`).first().textContent(), name)
    }
    for (const key of ['gateway:hq:agent:main:main', 'gateway:hangzhou:agent:main:main', 'gateway:hangzhou:agent:research:main', ...EVIL_KEYS.map(key => `gateway:${EVIL_NAME}:${key}`)]) {
      await page.locator(`#sessions tr[data-qualified-key="${key.replace(/"/g, '\\"')}"]`).waitFor({ timeout: 30_000 })
    }
    assert.equal(await page.locator('#sessions tbody tr').count(), 5)
    assert.equal(await page.locator('#gateways tbody tr').count(), 3)
    assert.equal(await page.locator('#topology g.gw').count(), 3)
    assert.equal(await page.locator('#topology line.link-direct').count(), 2, 'hq is linked to both others')
  })

  it('shows what a hostile member chose as text, never as markup', async () => {
    const evilId = peerIds.get(EVIL_NAME) as string
    assert.equal(await page.locator(`#gateways tr[data-peer-id="${evilId}"] td`).first().textContent(), EVIL_NAME)
    for (const key of EVIL_KEYS) assert.equal(await page.locator('#sessions td:nth-child(2)', { hasText: key }).count(), 1, 'the key is shown as it is')
    assert.equal(await page.locator('iframe').count(), 0, 'the key made no <iframe>')
    assert.equal(await page.locator('script:not([src])').count(), 0, 'the key made no <script>')
    assert.deepEqual(dialogs, [])
  })

  it('marks a frozen Gateway unreachable within the liveness period, in the picture and both tables', async () => {
    const hangzhouId = peerIds.get('hangzhou') as string
    const topology = page.locator('#topology')
    assert.equal(await redPixels(browser, await topology.screenshot()), 0, 'nothing is red while all are up')
    const frozen = nodes[1] as Running
    const stoppedAt = Date.now()
    frozen.child.kill('SIGSTOP')
    // Generous for a loaded machine; what it measures is printed below.
    const deadline = PEER_SILENCE_MS + 2 * PAGE_REFRESH_MS + 5000
    await page.locator(`#topology g[data-peer-id="${hangzhouId}"][data-state="unreachable"]`).waitFor({ timeout: deadline })
    console.log(`# hangzhou shown unreachable ${Date.now() - stoppedAt} ms after SIGSTOP (liveness period ${PEER_SILENCE_MS} ms)`)
    await page.locator(`#gateways tr[data-peer-id="${hangzhouId}"][data-state="unreachable"]`).waitFor()
    assert.equal(await page.locator('#sessions tr[data-state="unreachable"]').count(), 2)
    assert.equal(await page.locator('#sessions tr[data-state="reachable"]').count(), 3)
    assert.match(await page.locator('#summary').textContent() ?? '', /3 Gateways \(1 unreachable\)/)
    assert.ok(await redPixels(browser, await topology.screenshot()) > 500, 'the picture shows the unreachable Gateway in red')
    await mkdir(resolve(SCREENSHOT, '..'), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
  })
})
