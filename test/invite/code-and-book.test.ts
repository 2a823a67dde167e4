/** The invite code (parse, reject tampering and junk) and the invite book (one-time, expiring, revocable), with a fake clock. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { InviteBook, MAX_OPEN_INVITES } from '../../src/invite/book.ts'
import { decodeInvite, encodeInvite, INVITE_PREFIX, inviteSecrets, isExpired, type InviteCode } from '../../src/invite/code.ts'
import { MeshError } from '../../src/errors.ts'

async function sampleCode (): Promise<InviteCode> {
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  return { ...inviteSecrets(), peer, addrs: [`/ip4/11.11.0.10/tcp/4001/p2p/${peer}`], expiresAt: Math.floor(Date.now() / 1000) + 3600, meshId: '0123456789abcdef' }
}

const code = (err: unknown): string | undefined => err instanceof MeshError ? err.code : undefined

void describe('invite code', () => {
  void it('round-trips, and is one line starting with the prefix', async () => {
    const c = await sampleCode()
    const text = encodeInvite(c)
    assert.ok(text.startsWith(INVITE_PREFIX) && !/\s/.test(text))
    assert.deepEqual(decodeInvite(`  ${text}\n`), c)
  })

  void it('refuses junk, damage and tampering with INVITE_INVALID', async () => {
    const c = await sampleCode()
    const text = encodeInvite(c)
    const body = JSON.parse(Buffer.from(text.slice(INVITE_PREFIX.length), 'base64url').toString()) as Record<string, unknown>
    const reencode = (patch: Record<string, unknown>): string => INVITE_PREFIX + Buffer.from(JSON.stringify({ ...body, ...patch })).toString('base64url')
    const bad = [
      '', 'hello', text.slice(0, 40), INVITE_PREFIX + 'x'.repeat(5000), INVITE_PREFIX + '!!!',
      reencode({ v: 2 }), reencode({ key: 'short' }), reencode({ token: null }), reencode({ peer: 'not-a-peer-id' }),
      reencode({ addrs: [] }), reencode({ addrs: ['/ip4/1.2.3.4/tcp/1'] }), reencode({ addrs: Array(9).fill(c.addrs[0]) }),
      reencode({ addrs: [`/not/a/multiaddr/p2p/${c.peer}`] }), reencode({ exp: 'soon' }), reencode({ mesh: 'XYZ' }), reencode({ id: '../../etc' }),
      INVITE_PREFIX + Buffer.from('[1,2]').toString('base64url')
    ]
    for (const t of bad) assert.equal(code(((): unknown => { try { decodeInvite(t) } catch (err) { return err } })()), 'INVITE_INVALID', t.slice(0, 60))
  })

  void it('knows when it has expired', async () => {
    const c = await sampleCode()
    assert.equal(isExpired(c), false)
    assert.equal(isExpired(c, c.expiresAt * 1000), true)
  })
})

void describe('invite book', () => {
  const setup = (): { book: InviteBook, clock: { now: number }, id: string, token: Uint8Array } => {
    const clock = { now: 1_000_000 }
    const book = new InviteBook(() => clock.now)
    const { id, key, token } = inviteSecrets()
    book.add(id, key, token, clock.now + 60_000)
    return { book, clock, id, token }
  }

  void it('redeems once; a second redemption, even with the right token, is refused as used', () => {
    const { book, id, token } = setup()
    assert.deepEqual(book.redeem(id, token, 'peerA'), { ok: true })
    assert.deepEqual(book.redeem(id, token, 'peerB'), { ok: false, why: 'used' })
    assert.equal(book.keyOf(id), undefined, 'a spent invite has no key any more')
    assert.equal(book.list()[0]?.usedBy, 'peerA')
  })

  void it('refuses an expired, a revoked, an unknown invite, and a wrong token (told apart from an unknown ID by nothing)', () => {
    const { book, clock, id, token } = setup()
    const { token: other } = inviteSecrets()
    assert.deepEqual(book.redeem(id, other, 'x'), { ok: false, why: 'unknown' })
    assert.deepEqual(book.redeem('0000000000000000', token, 'x'), { ok: false, why: 'unknown' })
    assert.deepEqual(book.redeem(id, new Uint8Array(5), 'x'), { ok: false, why: 'unknown' })
    const second = inviteSecrets()
    book.add(second.id, second.key, second.token, clock.now + 60_000)
    assert.equal(book.revoke(second.id), true)
    assert.equal(book.revoke(second.id), false)
    assert.deepEqual(book.redeem(second.id, second.token, 'x'), { ok: false, why: 'revoked' })
    clock.now += 60_000
    assert.deepEqual(book.expire(), [id])
    assert.deepEqual(book.redeem(id, token, 'x'), { ok: false, why: 'expired' })
    assert.equal(book.keyOf(id), undefined)
  })

  void it('holds at most a bounded number of open invites, and never lists a key or token', () => {
    const { book } = setup()
    for (let i = 1; i < MAX_OPEN_INVITES; i++) { const s = inviteSecrets(); book.add(s.id, s.key, s.token, Date.now() + 1e9) }
    const s = inviteSecrets()
    assert.throws(() => book.add(s.id, s.key, s.token, Date.now() + 1e9), RangeError)
    for (const info of book.list()) assert.deepEqual(Object.keys(info).sort(), ['createdAt', 'expiresAt', 'id', 'state'])
  })
})
