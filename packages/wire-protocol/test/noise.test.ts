import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { x25519 } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWireError, type WireError } from '../src/errors.js';
import { generateStaticKeyPair, keysEqual, publicKeyOf } from '../src/keys.js';
import {
  CipherState,
  type HandshakeOptions,
  HandshakeState,
  KK_PATTERN,
  MAX_NONCE,
  NOISE_PROTOCOL_NAME,
  noiseHkdf2,
  SECRET_BUFFERS,
  SymmetricState,
} from '../src/noise.js';

interface VectorMessage {
  payload: string;
  ciphertext: string;
}
interface VectorCase {
  name: string;
  init_prologue: string;
  init_static: string;
  init_ephemeral: string;
  init_remote_static: string;
  resp_prologue: string;
  resp_static: string;
  resp_ephemeral: string;
  resp_remote_static: string;
  /** h after the final handshake message (noise-c). */
  handshake_hash?: string;
  /** h after message 1 (snow's copy of cacophony; see the vectors README). */
  h_after_message_1?: string;
  messages: VectorMessage[];
}

const VECTORS = JSON.parse(
  readFileSync(
    join(import.meta.dirname, 'vectors', 'noise', 'kk-25519-chachapoly-sha256.json'),
    'utf8',
  ),
) as { protocol_name: string; cases: VectorCase[] };

/** A randomBytes that hands out the given ephemeral once, then fails the test. */
function fixedRandom(hex: string): (n: number) => Uint8Array {
  let used = false;
  return (n) => {
    expect(used, 'ephemeral drawn twice').toBe(false);
    expect(n).toBe(32);
    used = true;
    return hexToBytes(hex);
  };
}

function pair(v: VectorCase): [HandshakeState, HandshakeState] {
  const initiator = new HandshakeState({
    role: 'initiator',
    prologue: hexToBytes(v.init_prologue),
    staticPrivateKey: hexToBytes(v.init_static),
    remoteStaticPublicKey: hexToBytes(v.init_remote_static),
    randomBytes: fixedRandom(v.init_ephemeral),
  });
  const responder = new HandshakeState({
    role: 'responder',
    prologue: hexToBytes(v.resp_prologue),
    staticPrivateKey: hexToBytes(v.resp_static),
    remoteStaticPublicKey: hexToBytes(v.resp_remote_static),
    randomBytes: fixedRandom(v.resp_ephemeral),
  });
  return [initiator, responder];
}

function catchWire(fn: () => unknown): WireError {
  try {
    fn();
  } catch (e) {
    if (isWireError(e)) return e;
    throw e;
  }
  throw new Error('expected a WireError, nothing was thrown');
}

describe('published Noise_KK_25519_ChaChaPoly_SHA256 vectors', () => {
  it('the vector file is for our protocol and has cases', () => {
    expect(VECTORS.protocol_name).toBe(NOISE_PROTOCOL_NAME);
    expect(VECTORS.cases.length).toBeGreaterThanOrEqual(2);
    expect(VECTORS.cases.some((v) => v.handshake_hash !== undefined)).toBe(true);
  });

  for (const v of VECTORS.cases) {
    describe(v.name, () => {
      it('static keys in the vector are consistent pairs', () => {
        expect(bytesToHex(x25519.getPublicKey(hexToBytes(v.init_static)))).toBe(
          v.resp_remote_static,
        );
        expect(bytesToHex(x25519.getPublicKey(hexToBytes(v.resp_static)))).toBe(
          v.init_remote_static,
        );
      });

      it('handshake and transport messages match byte for byte, both ways', () => {
        const [initiator, responder] = pair(v);
        const [m1, m2, ...transport] = v.messages;
        if (m1 === undefined || m2 === undefined) throw new Error('vector has no handshake');

        const c1 = initiator.writeMessage(hexToBytes(m1.payload));
        expect(bytesToHex(c1)).toBe(m1.ciphertext);
        expect(bytesToHex(responder.readMessage(c1))).toBe(m1.payload);
        if (v.h_after_message_1 !== undefined) {
          expect(bytesToHex(initiator.handshakeHash)).toBe(v.h_after_message_1);
          expect(bytesToHex(responder.handshakeHash)).toBe(v.h_after_message_1);
        }

        const c2 = responder.writeMessage(hexToBytes(m2.payload));
        expect(bytesToHex(c2)).toBe(m2.ciphertext);
        expect(bytesToHex(initiator.readMessage(c2))).toBe(m2.payload);

        expect(initiator.isComplete && responder.isComplete).toBe(true);
        expect(bytesToHex(initiator.handshakeHash)).toBe(bytesToHex(responder.handshakeHash));
        if (v.handshake_hash !== undefined) {
          expect(bytesToHex(initiator.handshakeHash)).toBe(v.handshake_hash);
        }

        const ini = initiator.takeTransport();
        const res = responder.takeTransport();
        expect(bytesToHex(ini.handshakeHash)).toBe(bytesToHex(res.handshakeHash));
        expect(transport.length).toBeGreaterThan(0);
        transport.forEach((m, i) => {
          // Message 3 is the initiator's, then they alternate.
          const [from, to] = i % 2 === 0 ? [ini, res] : [res, ini];
          const ct = from.send.encryptWithAd(new Uint8Array(0), hexToBytes(m.payload));
          expect(bytesToHex(ct), `transport message ${i + 3}`).toBe(m.ciphertext);
          expect(bytesToHex(to.receive.decryptWithAd(new Uint8Array(0), ct))).toBe(m.payload);
        });
      });
    });
  }

  it('a different prologue on one side fails message 1 with HANDSHAKE_FAILED', () => {
    const v = VECTORS.cases[0];
    if (v === undefined) throw new Error('no vector');
    const [initiator] = pair(v);
    const responder = new HandshakeState({
      role: 'responder',
      prologue: hexToBytes('00'),
      staticPrivateKey: hexToBytes(v.resp_static),
      remoteStaticPublicKey: hexToBytes(v.resp_remote_static),
    });
    const m1 = initiator.writeMessage(new Uint8Array(0));
    expect(catchWire(() => responder.readMessage(m1)).code).toBe('HANDSHAKE_FAILED');
  });
});

describe('HKDF as Noise defines it', () => {
  /** Spec 4.3, written out with HMAC-SHA256. */
  function specHkdf2(ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
    const temp = hmac(sha256, ck, ikm);
    const out1 = hmac(sha256, temp, Uint8Array.of(1));
    const out2 = hmac(sha256, temp, concatBytes(out1, Uint8Array.of(2)));
    return [out1, out2];
  }

  it('equals the RFC 5869 construction used in noise.ts for any key and input', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 0, maxLength: 64 }),
        (ck, ikm) => {
          const [a1, a2] = noiseHkdf2(ck, ikm);
          const [b1, b2] = specHkdf2(ck, ikm);
          expect(bytesToHex(a1)).toBe(bytesToHex(b1));
          expect(bytesToHex(a2)).toBe(bytesToHex(b2));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('CipherState', () => {
  const key = new Uint8Array(32).fill(7);
  const ad = new Uint8Array(0);

  it('without a key passes plaintext through (spec 5.1)', () => {
    const c = new CipherState();
    expect(c.hasKey()).toBe(false);
    expect(bytesToHex(c.encryptWithAd(ad, Uint8Array.of(1, 2)))).toBe('0102');
  });

  it('the nonce is an implicit counter: the same plaintext encrypts differently each time', () => {
    const c = new CipherState(key);
    const a = c.encryptWithAd(ad, Uint8Array.of(1));
    const b = c.encryptWithAd(ad, Uint8Array.of(1));
    expect(bytesToHex(a)).not.toBe(bytesToHex(b));
    expect(c.nonce).toBe(2n);
  });

  it('a failed decrypt throws SESSION_BROKEN and does not advance the counter', () => {
    const send = new CipherState(key);
    const receive = new CipherState(key);
    const ct = send.encryptWithAd(ad, Uint8Array.of(9, 9));
    const bad = ct.slice();
    bad[0] = (bad[0] ?? 0) ^ 1;
    expect(catchWire(() => receive.decryptWithAd(ad, bad)).code).toBe('SESSION_BROKEN');
    expect(receive.nonce).toBe(0n);
    expect(bytesToHex(receive.decryptWithAd(ad, ct))).toBe('0909');
  });

  it('a ciphertext shorter than the tag is refused', () => {
    const c = new CipherState(key);
    expect(catchWire(() => c.decryptWithAd(ad, new Uint8Array(15))).code).toBe('SESSION_BROKEN');
  });

  it('uses the 64-bit little-endian counter up to 2^64-2 and refuses the reserved 2^64-1', () => {
    const send = new CipherState(key);
    const receive = new CipherState(key);
    send.setNonce(MAX_NONCE - 1n);
    receive.setNonce(MAX_NONCE - 1n);
    const ct = send.encryptWithAd(ad, Uint8Array.of(5));
    expect(bytesToHex(receive.decryptWithAd(ad, ct))).toBe('05');
    expect(send.nonce).toBe(MAX_NONCE);
    expect(catchWire(() => send.encryptWithAd(ad, Uint8Array.of(5))).code).toBe('SESSION_BROKEN');
    expect(catchWire(() => receive.decryptWithAd(ad, ct)).code).toBe('SESSION_BROKEN');
  });

  it('a high counter value reaches the nonce bytes (counter is not truncated to 32 bits)', () => {
    const a = new CipherState(key);
    const b = new CipherState(key);
    a.setNonce(1n);
    b.setNonce(1n + (1n << 32n));
    expect(bytesToHex(a.encryptWithAd(ad, Uint8Array.of(0)))).not.toBe(
      bytesToHex(b.encryptWithAd(ad, Uint8Array.of(0))),
    );
  });

  it('rejects keys of the wrong size and nonces out of range', () => {
    expect(catchWire(() => new CipherState(new Uint8Array(31))).code).toBe('BAD_PARAMS');
    expect(catchWire(() => new CipherState(key).setNonce(-1n)).code).toBe('BAD_PARAMS');
    expect(catchWire(() => new CipherState(key).setNonce(MAX_NONCE + 1n)).code).toBe('BAD_PARAMS');
  });

  it('destroy() zeroes the key buffer and makes the state unusable', () => {
    const c = new CipherState(key);
    const [k] = c[SECRET_BUFFERS]();
    if (k === undefined) throw new Error('no key buffer');
    expect(k.some((b) => b !== 0)).toBe(true);
    c.destroy();
    expect(k.every((b) => b === 0)).toBe(true);
    expect(c.hasKey()).toBe(false);
    expect(
      key.every((b) => b === 7),
      'the caller key is a separate copy',
    ).toBe(true);
    // A destroyed state must refuse, never fall back to the no-key pass-through.
    expect(catchWire(() => c.encryptWithAd(ad, Uint8Array.of(1))).code).toBe('SESSION_CLOSED');
    expect(catchWire(() => c.decryptWithAd(ad, new Uint8Array(17))).code).toBe('SESSION_CLOSED');
  });
});

describe('SymmetricState', () => {
  it('a 32-byte protocol name is used as h without hashing (spec 5.2)', () => {
    const s = new SymmetricState(NOISE_PROTOCOL_NAME);
    expect(new TextDecoder().decode(s.handshakeHash)).toBe(NOISE_PROTOCOL_NAME);
  });

  it('a longer protocol name is hashed', () => {
    const name = `${NOISE_PROTOCOL_NAME}_and_more`;
    expect(bytesToHex(new SymmetricState(name).handshakeHash)).toBe(
      bytesToHex(sha256(new TextEncoder().encode(name))),
    );
  });
});

describe('HandshakeState (KK)', () => {
  const iStatic = new Uint8Array(32).fill(1);
  const rStatic = new Uint8Array(32).fill(2);
  const base = (
    role: 'initiator' | 'responder',
    over: Partial<HandshakeOptions> = {},
  ): HandshakeState =>
    new HandshakeState({
      role,
      prologue: new Uint8Array(0),
      staticPrivateKey: role === 'initiator' ? iStatic : rStatic,
      remoteStaticPublicKey: x25519.getPublicKey(role === 'initiator' ? rStatic : iStatic),
      ...over,
    });

  it('the pattern table is KK', () => {
    expect(KK_PATTERN.messages).toEqual([
      ['e', 'es', 'ss'],
      ['e', 'ee', 'se'],
    ]);
    expect(Object.isFrozen(KK_PATTERN.messages)).toBe(true);
  });

  it('empty payloads give 48-byte messages both ways', () => {
    const i = base('initiator');
    const r = base('responder');
    const m1 = i.writeMessage(new Uint8Array(0));
    expect(m1.length).toBe(48);
    r.readMessage(m1);
    const m2 = r.writeMessage(new Uint8Array(0));
    expect(m2.length).toBe(48);
    i.readMessage(m2);
    expect(i.isComplete && r.isComplete).toBe(true);
  });

  it('a responder pinning another initiator key refuses message 1', () => {
    const i = base('initiator');
    const r = base('responder', {
      remoteStaticPublicKey: x25519.getPublicKey(new Uint8Array(32).fill(3)),
    });
    const e = catchWire(() => r.readMessage(i.writeMessage(new Uint8Array(0))));
    expect(e.code).toBe('HANDSHAKE_FAILED');
  });

  it('an initiator pinning another responder key is refused at message 1, and message 2 fails', () => {
    // The responder with the wrong key cannot read message 1; an impostor responder that
    // somehow got message 1's secrets still cannot make a message 2 the initiator accepts.
    const other = new Uint8Array(32).fill(4);
    const i = base('initiator');
    const impostor = new HandshakeState({
      role: 'responder',
      prologue: new Uint8Array(0),
      staticPrivateKey: other,
      remoteStaticPublicKey: x25519.getPublicKey(iStatic),
    });
    const m1 = i.writeMessage(new Uint8Array(0));
    expect(catchWire(() => impostor.readMessage(m1)).code).toBe('HANDSHAKE_FAILED');
    // A message 2 made by a responder that does not hold rStatic fails at the initiator.
    const forged = new Uint8Array(48);
    forged.set(x25519.getPublicKey(other));
    expect(catchWire(() => i.readMessage(forged)).code).toBe('HANDSHAKE_FAILED');
  });

  it('a flipped byte anywhere in message 1 or message 2 is refused', () => {
    // 0x80 also hits bit 255 of the ephemeral key, which X25519 ignores: h still catches it.
    const eI = (): Uint8Array => new Uint8Array(32).fill(9);
    const eR = (): Uint8Array => new Uint8Array(32).fill(8);
    const good1 = base('initiator', { randomBytes: eI }).writeMessage(new Uint8Array(0));
    for (let at = 0; at < good1.length; at++) {
      const bad = good1.slice();
      bad[at] = (bad[at] ?? 0) ^ 0x80;
      expect(catchWire(() => base('responder').readMessage(bad)).code, `message 1 byte ${at}`).toBe(
        'HANDSHAKE_FAILED',
      );
    }
    const responderFor = (): HandshakeState => {
      const r = base('responder', { randomBytes: eR });
      r.readMessage(good1);
      return r;
    };
    const good2 = responderFor().writeMessage(new Uint8Array(0));
    for (let at = 0; at < good2.length; at++) {
      const bad = good2.slice();
      bad[at] = (bad[at] ?? 0) ^ 0x80;
      const i = base('initiator', { randomBytes: eI });
      i.writeMessage(new Uint8Array(0));
      expect(catchWire(() => i.readMessage(bad)).code, `message 2 byte ${at}`).toBe(
        'HANDSHAKE_FAILED',
      );
    }
    // The untouched messages still complete, so the refusals above are due to the flips.
    const i = base('initiator', { randomBytes: eI });
    i.writeMessage(new Uint8Array(0));
    i.readMessage(good2);
    expect(i.isComplete).toBe(true);
  });

  it('short, long and out-of-turn messages are refused', () => {
    const r = base('responder');
    expect(catchWire(() => r.readMessage(new Uint8Array(47))).code).toBe('HANDSHAKE_FAILED');
    expect(catchWire(() => base('responder').readMessage(new Uint8Array(65536))).code).toBe(
      'HANDSHAKE_FAILED',
    );
    expect(catchWire(() => base('responder').writeMessage(new Uint8Array(0))).code).toBe(
      'HANDSHAKE_FAILED',
    );
    expect(catchWire(() => base('initiator').readMessage(new Uint8Array(48))).code).toBe(
      'HANDSHAKE_FAILED',
    );
    expect(catchWire(() => base('initiator').writeMessage(new Uint8Array(65535 - 47))).code).toBe(
      'MESSAGE_TOO_LARGE',
    );
  });

  it('a low-order ephemeral from the peer is refused, not turned into an all-zero key', () => {
    const r = base('responder');
    expect(catchWire(() => r.readMessage(new Uint8Array(48))).code).toBe('HANDSHAKE_FAILED');
  });

  it('after an error the state is destroyed and refuses further use', () => {
    const r = base('responder');
    catchWire(() => r.readMessage(new Uint8Array(48)));
    expect(r[SECRET_BUFFERS]().every((b) => b.every((x) => x === 0))).toBe(true);
    expect(catchWire(() => r.readMessage(new Uint8Array(48))).code).toBe('HANDSHAKE_FAILED');
  });

  it('takeTransport() wipes the handshake secrets; destroy() of the transport wipes its keys', () => {
    const i = base('initiator');
    const r = base('responder');
    r.readMessage(i.writeMessage(new Uint8Array(0)));
    i.readMessage(r.writeMessage(new Uint8Array(0)));
    const held = i[SECRET_BUFFERS]();
    const t = i.takeTransport();
    expect(held.length).toBeGreaterThan(3);
    const transportKeys = [...t.send[SECRET_BUFFERS](), ...t.receive[SECRET_BUFFERS]()];
    for (const b of held.filter((x) => !transportKeys.includes(x))) {
      expect(b.every((x) => x === 0)).toBe(true);
    }
    expect(transportKeys.length).toBe(2);
    t.send.destroy();
    t.receive.destroy();
    for (const b of transportKeys) expect(b.every((x) => x === 0)).toBe(true);
    expect(
      iStatic.every((x) => x === 1),
      'the caller static key is not wiped',
    ).toBe(true);
  });

  it('validates its options', () => {
    expect(catchWire(() => base('initiator', { staticPrivateKey: new Uint8Array(31) })).code).toBe(
      'BAD_PARAMS',
    );
    expect(
      catchWire(() => base('initiator', { remoteStaticPublicKey: new Uint8Array(33) })).code,
    ).toBe('BAD_PARAMS');
    expect(
      catchWire(() => base('initiator', { role: 'both' as unknown as 'initiator' })).code,
    ).toBe('BAD_PARAMS');
    expect(
      catchWire(() => base('initiator', { prologue: 'x' as unknown as Uint8Array })).code,
    ).toBe('BAD_PARAMS');
  });
});

describe('static link keys (keys.ts)', () => {
  it('generateStaticKeyPair uses the injected randomness and derives the X25519 public key', () => {
    const v = VECTORS.cases[0];
    if (v === undefined) throw new Error('no vector');
    const pair = generateStaticKeyPair(() => hexToBytes(v.init_static));
    expect(bytesToHex(pair.publicKey)).toBe(v.resp_remote_static);
    expect(bytesToHex(publicKeyOf(hexToBytes(v.resp_static)))).toBe(v.init_remote_static);
  });

  it('keysEqual compares 32-byte keys and rejects other sizes', () => {
    const a = new Uint8Array(32).fill(1);
    const b = a.slice();
    expect(keysEqual(a, b)).toBe(true);
    b[31] = 2;
    expect(keysEqual(a, b)).toBe(false);
    expect(catchWire(() => keysEqual(a, new Uint8Array(31))).code).toBe('BAD_PARAMS');
    expect(catchWire(() => publicKeyOf(new Uint8Array(0))).code).toBe('BAD_PARAMS');
  });

  it('a randomness source that returns the wrong size is refused', () => {
    expect(catchWire(() => generateStaticKeyPair(() => new Uint8Array(16))).code).toBe('INTERNAL');
  });
});
