// The original problem, solved: two Gateways on one machine (18789 and 18790),
// each with its own agent:main:main. From the first, reach the second's session
// by qualified key, by port, by session UUID; see a bare key resolve locally and
// a third party get AMBIGUOUS; stop the second and see UNREACHABLE at once.
//
//   node examples/01-two-gateways.ts        (Node 24; multicast stays off)
import { createMesh, MeshError } from '../src/index.ts'
import { generateSecret } from '../src/security/secret.ts'

const secret = generateSecret() // one secret for this run's private mesh
const base = { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, discovery: { mdns: false, local: false }, secret }
const step = (text: string): void => { console.log(`\n== ${text}`) }

step('start Gateway "hq" (OpenClaw port 18789)')
const hq = await createMesh({
  ...base,
  name: 'hq',
  gatewayPort: 18789,
  deliver: async (msg) => ({ reply: `[hq ${msg.sessionKey}] got "${msg.text}"` })
})
console.log(`hq is ${hq.peerId} on ${hq.status().addresses.join(', ')}`)

step('start Gateway "hangzhou" (OpenClaw port 18790), bootstrapping to hq')
const hangzhou = await createMesh({
  ...base,
  name: 'hangzhou',
  gatewayPort: 18790,
  peers: hq.status().addresses,
  deliver: async (msg) => ({ reply: `[hangzhou ${msg.sessionKey}] got "${msg.text}" from ${msg.from.gateway}` })
})

step('each announces its own agent:main:main')
await hq.announce('agent:main:main', { sessionId: '0f6c2a52-7d9e-4c41-9a55-1f0f3c1d0a01', agentId: 'main' })
const hangzhouSessionId = '7b1d9a40-2e3f-4b8a-8c6d-5e4f3a2b1c02'
await hangzhou.announce('agent:main:main', { sessionId: hangzhouSessionId, agentId: 'main' })
// Wait (on events) until hq's registry holds hangzhou's session.
await new Promise<void>(resolve => {
  const check = (): void => {
    if (hq.sessions().some(s => s.owner.name === 'hangzhou')) {
      hq.removeEventListener('session:add', check)
      resolve()
    }
  }
  hq.addEventListener('session:add', check)
  check()
})
for (const s of hq.sessions()) console.log(`  ${s.qualifiedKey.padEnd(36)} ${s.sessionId ?? ''}`)

step('hq → gateway:hangzhou:agent:main:main')
console.log((await hq.send('gateway:hangzhou:agent:main:main', 'hello from hq')).reply)

step('hq → gateway:18790:agent:main:main (by the Gateway\'s port)')
console.log((await hq.send('gateway:18790:agent:main:main', 'hello by port')).reply)

step(`hq → ${hangzhouSessionId} (by session UUID: used to say "No session found")`)
console.log((await hq.send(hangzhouSessionId, 'hello by UUID')).reply)

step('hq → agent:main:main (bare key: hq owns one, so it stays local, as in OpenClaw)')
console.log((await hq.send('agent:main:main', 'hello, me')).reply)

step('hq → agent:main:main with localFirst: false (two owners: AMBIGUOUS tells you what to use)')
try {
  await hq.send('agent:main:main', 'which one?', { localFirst: false })
} catch (err) {
  if (!(err instanceof MeshError)) throw err
  console.log(`${err.code}: ${err.message}`)
}

step('stop hangzhou; its sessions turn UNREACHABLE at once (no 30 s timeout)')
await hangzhou.stop()
try {
  await hq.send('gateway:hangzhou:agent:main:main', 'are you there?', { timeoutMs: 30_000 })
} catch (err) {
  if (!(err instanceof MeshError)) throw err
  console.log(`${err.code}: ${err.message}`)
}

await hq.stop()
step('done')
