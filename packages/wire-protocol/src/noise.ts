import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, randomBytes as cryptoRandomBytes } from '@noble/hashes/utils.js';
import { WireError } from './errors.js';
import { assertKey, drawRandom, KEY_BYTES, type RandomBytes, wipe } from './keys.js';

/**
 * The Noise Protocol Framework (revision 34) objects for one protocol only:
 * Noise_KK_25519_ChaChaPoly_SHA256. The code follows the spec's sections 5.1 to 5.3
 * (CipherState, SymmetricState, HandshakeState) and is built from @noble primitives. It does no
 * I/O. session.ts turns it into a channel.
 */

export const NOISE_PROTOCOL_NAME = 'Noise_KK_25519_ChaChaPoly_SHA256';
/** Bytes of a DH public key / shared secret (25519). */
export const DH_LEN = KEY_BYTES;
/** Bytes of a hash output (SHA-256). */
export const HASH_LEN = 32;
/** Bytes of the AEAD tag (ChaCha20-Poly1305). */
export const TAG_LEN = 16;
/** Noise's limit on any message (spec 3). */
export const NOISE_MAX_MESSAGE_BYTES = 65535;
/** Nonce 2^64-1 is reserved (spec 5.1): a CipherState whose counter reaches it refuses to work. */
export const MAX_NONCE = 0xffff_ffff_ffff_ffffn;

export type Role = 'initiator' | 'responder';
/** The message tokens KK uses. Statics travel only in pre-messages, so the "s" token is absent. */
export type Token = 'e' | 'ee' | 'es' | 'se' | 'ss';

/**
 * The KK pattern (spec 7.5) as data:
 *   -> s
 *   <- s
 *   ...
 *   -> e, es, ss
 *   <- e, ee, se
 */
export const KK_PATTERN = Object.freeze({
  name: 'KK',
  preMessages: Object.freeze({
    initiator: Object.freeze(['s'] as const),
    responder: Object.freeze(['s'] as const),
  }),
  messages: Object.freeze([
    Object.freeze(['e', 'es', 'ss'] as const satisfies readonly Token[]),
    Object.freeze(['e', 'ee', 'se'] as const satisfies readonly Token[]),
  ]),
});

const EMPTY = new Uint8Array(0);

function checkBytes(value: unknown, place: string, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new WireError(
      'BAD_PARAMS',
      `${place}: expected ${what} as a Uint8Array, got ${typeof value}`,
    );
  }
}

/** The 12-byte ChaCha20-Poly1305 nonce: 4 zero bytes then the 64-bit counter, little-endian. */
function nonceBytes(n: bigint): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, n, true);
  return nonce;
}

/**
 * HKDF as Noise defines it (spec 4.3), with two outputs. That is RFC 5869 with salt =
 * chaining key, IKM = input key material, empty info and 64 bytes of output, cut in two. The
 * vector tests check this against the published handshakes. noise.test.ts also checks it
 * against the spec's HMAC formula.
 */
export function noiseHkdf2(chainingKey: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const okm = hkdf(sha256, ikm, chainingKey, EMPTY, 2 * HASH_LEN);
  const out: [Uint8Array, Uint8Array] = [okm.slice(0, HASH_LEN), okm.slice(HASH_LEN)];
  wipe(okm);
  return out;
}

/** Symbol of a test-only accessor that returns the live secret buffers of an object. */
export const SECRET_BUFFERS: unique symbol = Symbol('keyline.noise.secretBuffers');

/** Spec 5.1: a cipher key k (or none) and a 64-bit nonce counter n. */
export class CipherState {
  #k: Uint8Array | undefined;
  #n = 0n;
  #destroyed = false;

  constructor(key?: Uint8Array) {
    if (key !== undefined) this.initializeKey(key);
  }

  /** Sets k to a copy of `key` (or none), wipes the old k and resets n to 0. */
  initializeKey(key: Uint8Array | undefined): void {
    this.#checkLive('noise/cipher');
    if (key !== undefined) assertKey(key, 'noise/cipher', 'a cipher key');
    wipe(this.#k);
    this.#k = key?.slice();
    this.#n = 0n;
  }

  hasKey(): boolean {
    return this.#k !== undefined;
  }

  get nonce(): bigint {
    return this.#n;
  }

  setNonce(n: bigint): void {
    if (typeof n !== 'bigint' || n < 0n || n > MAX_NONCE) {
      throw new WireError(
        'BAD_PARAMS',
        `noise/cipher: expected a nonce in 0..2^64-1, got ${String(n)}`,
      );
    }
    this.#n = n;
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    checkBytes(ad, 'noise/encrypt', 'associated data');
    checkBytes(plaintext, 'noise/encrypt', 'plaintext');
    this.#checkLive('noise/encrypt');
    const k = this.#k;
    if (k === undefined) return plaintext.slice();
    this.#checkNonce('noise/encrypt');
    const out = chacha20poly1305(k, nonceBytes(this.#n), ad).encrypt(plaintext);
    this.#n += 1n;
    return out;
  }

  /** Throws SESSION_BROKEN on a failed tag. n only advances on success (spec 5.1). */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    checkBytes(ad, 'noise/decrypt', 'associated data');
    checkBytes(ciphertext, 'noise/decrypt', 'ciphertext');
    this.#checkLive('noise/decrypt');
    const k = this.#k;
    if (k === undefined) return ciphertext.slice();
    this.#checkNonce('noise/decrypt');
    if (ciphertext.length < TAG_LEN) {
      throw new WireError(
        'SESSION_BROKEN',
        `noise/decrypt: expected at least ${TAG_LEN} bytes of ciphertext, got ${ciphertext.length}`,
      );
    }
    let plaintext: Uint8Array;
    try {
      plaintext = chacha20poly1305(k, nonceBytes(this.#n), ad).decrypt(ciphertext);
    } catch (cause) {
      throw new WireError(
        'SESSION_BROKEN',
        `noise/decrypt: expected a valid tag for nonce ${this.#n}, got a tag that does not authenticate`,
        { cause },
      );
    }
    this.#n += 1n;
    return plaintext;
  }

  /** Wipes k. Any later use throws, so a destroyed state can never pass plaintext through. */
  destroy(): void {
    wipe(this.#k);
    this.#k = undefined;
    this.#destroyed = true;
  }

  [SECRET_BUFFERS](): Uint8Array[] {
    return this.#k === undefined ? [] : [this.#k];
  }

  #checkLive(place: string): void {
    if (this.#destroyed) {
      throw new WireError(
        'SESSION_CLOSED',
        `${place}: expected a live CipherState, got a destroyed one`,
      );
    }
  }

  #checkNonce(place: string): void {
    if (this.#n >= MAX_NONCE) {
      throw new WireError(
        'SESSION_BROKEN',
        `${place}: expected a nonce below 2^64-1, got 2^64-1 (exhausted)`,
      );
    }
  }
}

/** Spec 5.2: the chaining key ck, the handshake hash h and a CipherState. */
export class SymmetricState {
  readonly cipher = new CipherState();
  #ck: Uint8Array;
  #h: Uint8Array;

  constructor(protocolName: string) {
    const name = new TextEncoder().encode(protocolName);
    if (name.length <= HASH_LEN) {
      this.#h = new Uint8Array(HASH_LEN);
      this.#h.set(name);
    } else {
      this.#h = sha256(name);
    }
    this.#ck = this.#h.slice();
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = noiseHkdf2(this.#ck, ikm);
    wipe(this.#ck);
    this.#ck = ck;
    this.cipher.initializeKey(tempK);
    wipe(tempK);
  }

  mixHash(data: Uint8Array): void {
    const next = sha256.create().update(this.#h).update(data).digest();
    wipe(this.#h);
    this.#h = next;
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher.encryptWithAd(this.#h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /** Throws HANDSHAKE_FAILED when the tag does not authenticate. */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    let plaintext: Uint8Array;
    try {
      plaintext = this.cipher.decryptWithAd(this.#h, ciphertext);
    } catch (cause) {
      throw new WireError(
        'HANDSHAKE_FAILED',
        'noise/handshake: expected a handshake payload that authenticates, got a bad tag ' +
          '(wrong static key, wrong prologue or a damaged message)',
        { cause },
      );
    }
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** Two CipherStates: the first for initiator -> responder, the second for the way back. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = noiseHkdf2(this.#ck, EMPTY);
    const pair: [CipherState, CipherState] = [new CipherState(k1), new CipherState(k2)];
    wipe(k1, k2);
    return pair;
  }

  get handshakeHash(): Uint8Array {
    return this.#h.slice();
  }

  destroy(): void {
    wipe(this.#ck, this.#h);
    this.cipher.destroy();
  }

  [SECRET_BUFFERS](): Uint8Array[] {
    return [this.#ck, ...this.cipher[SECRET_BUFFERS]()];
  }
}

export interface HandshakeOptions {
  role: Role;
  /** Bytes both sides must agree on. They are mixed into h before the first message. */
  prologue: Uint8Array;
  staticPrivateKey: Uint8Array;
  /** The peer's static public key, known in advance (the K in KK). */
  remoteStaticPublicKey: Uint8Array;
  /** Source of the ephemeral private key. Tests inject fixed ephemerals here. */
  randomBytes?: RandomBytes;
}

/** What a completed handshake hands to the transport phase. The caller owns and must destroy it. */
export interface TransportState {
  readonly send: CipherState;
  readonly receive: CipherState;
  readonly handshakeHash: Uint8Array;
}

interface KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  try {
    return x25519.getSharedSecret(privateKey, publicKey);
  } catch (cause) {
    throw new WireError(
      'HANDSHAKE_FAILED',
      'noise/dh: expected a public key of large order, got one that gives an all-zero secret',
      { cause },
    );
  }
}

/**
 * Spec 5.3 for the KK pattern. The caller writes or reads messages in turn. Once both messages
 * are done, takeTransport() returns the split CipherStates. Any error destroys the state.
 */
export class HandshakeState {
  readonly role: Role;
  #symmetric: SymmetricState;
  #s: KeyPair;
  #rs: Uint8Array;
  #e: KeyPair | undefined;
  #re: Uint8Array | undefined;
  #random: RandomBytes;
  #step = 0;
  #transport: TransportState | undefined;
  #dead = false;

  constructor(options: HandshakeOptions) {
    const place = 'noise/handshake';
    if (options.role !== 'initiator' && options.role !== 'responder') {
      throw new WireError(
        'BAD_PARAMS',
        `${place}: expected role 'initiator' or 'responder', got ${String(options.role)}`,
      );
    }
    checkBytes(options.prologue, place, 'the prologue');
    assertKey(options.staticPrivateKey, place, 'a static private key');
    assertKey(options.remoteStaticPublicKey, place, 'a remote static public key');
    if (options.randomBytes !== undefined && typeof options.randomBytes !== 'function') {
      throw new WireError(
        'BAD_PARAMS',
        `${place}: expected randomBytes as a function, got ${typeof options.randomBytes}`,
      );
    }
    this.role = options.role;
    this.#random = options.randomBytes ?? cryptoRandomBytes;
    const privateKey = options.staticPrivateKey.slice();
    this.#s = { privateKey, publicKey: x25519.getPublicKey(privateKey) };
    this.#rs = options.remoteStaticPublicKey.slice();
    this.#symmetric = new SymmetricState(NOISE_PROTOCOL_NAME);
    this.#symmetric.mixHash(options.prologue);
    // Pre-messages in pattern order: the initiator's "-> s" first, then the responder's "<- s".
    const [first, second] =
      this.role === 'initiator' ? [this.#s.publicKey, this.#rs] : [this.#rs, this.#s.publicKey];
    this.#symmetric.mixHash(first);
    this.#symmetric.mixHash(second);
  }

  get isComplete(): boolean {
    return this.#step === KK_PATTERN.messages.length;
  }

  /** True when the next handshake message is ours to write. */
  get isMyTurn(): boolean {
    return !this.isComplete && (this.#step % 2 === 0) === (this.role === 'initiator');
  }

  /** The ephemeral public key of this handshake (after it was written). */
  get ephemeralPublicKey(): Uint8Array | undefined {
    return this.#e?.publicKey.slice();
  }

  writeMessage(payload: Uint8Array): Uint8Array {
    const place = 'noise/write';
    this.#checkUsable(place);
    checkBytes(payload, place, 'a payload');
    if (!this.isMyTurn) {
      throw new WireError(
        'HANDSHAKE_FAILED',
        `${place}: expected to read message ${this.#step + 1}, was asked to write it`,
      );
    }
    const tokens = this.#tokens();
    const size = tokens.length * DH_LEN + payload.length + TAG_LEN;
    if (size > NOISE_MAX_MESSAGE_BYTES) {
      throw new WireError(
        'MESSAGE_TOO_LARGE',
        `${place}: expected at most ${NOISE_MAX_MESSAGE_BYTES} bytes, got ${size}`,
      );
    }
    return this.#guard(() => {
      const parts: Uint8Array[] = [];
      for (const token of tokens) {
        if (token === 'e') {
          const privateKey = drawRandom(this.#random, DH_LEN, place).slice();
          this.#e = { privateKey, publicKey: x25519.getPublicKey(privateKey) };
          parts.push(this.#e.publicKey.slice());
          this.#symmetric.mixHash(this.#e.publicKey);
        } else {
          this.#mixDh(token);
        }
      }
      parts.push(this.#symmetric.encryptAndHash(payload));
      this.#advance();
      return concatBytes(...parts);
    });
  }

  /** Returns the payload. Throws HANDSHAKE_FAILED on a short message or a bad tag. */
  readMessage(message: Uint8Array): Uint8Array {
    const place = 'noise/read';
    this.#checkUsable(place);
    checkBytes(message, place, 'a message');
    if (this.isMyTurn) {
      throw new WireError(
        'HANDSHAKE_FAILED',
        `${place}: expected to write message ${this.#step + 1}, got one to read`,
      );
    }
    const tokens = this.#tokens();
    const minimum = tokens.filter((t) => t === 'e').length * DH_LEN + TAG_LEN;
    if (message.length < minimum || message.length > NOISE_MAX_MESSAGE_BYTES) {
      this.destroy();
      throw new WireError(
        'HANDSHAKE_FAILED',
        `${place}: expected message ${this.#step + 1} of ${minimum}..${NOISE_MAX_MESSAGE_BYTES} bytes, got ${message.length}`,
      );
    }
    return this.#guard(() => {
      let offset = 0;
      for (const token of tokens) {
        if (token === 'e') {
          this.#re = message.slice(offset, offset + DH_LEN);
          offset += DH_LEN;
          this.#symmetric.mixHash(this.#re);
        } else {
          this.#mixDh(token);
        }
      }
      const payload = this.#symmetric.decryptAndHash(message.subarray(offset));
      this.#advance();
      return payload;
    });
  }

  /** The handshake hash h (channel binding). Final once the handshake is complete. */
  get handshakeHash(): Uint8Array {
    this.#checkUsable('noise/handshakeHash');
    return this.#symmetric.handshakeHash;
  }

  /** Hands over the transport CipherStates once. The HandshakeState is destroyed. */
  takeTransport(): TransportState {
    const transport = this.#transport;
    if (transport === undefined) {
      throw new WireError(
        'HANDSHAKE_FAILED',
        'noise/transport: expected a completed handshake, got one in progress',
      );
    }
    this.#transport = undefined;
    this.destroy();
    return transport;
  }

  /** Wipes every secret this handshake holds, including a transport state not taken. */
  destroy(): void {
    this.#dead = true;
    wipe(this.#s.privateKey, this.#e?.privateKey);
    this.#symmetric.destroy();
    if (this.#transport !== undefined) {
      this.#transport.send.destroy();
      this.#transport.receive.destroy();
      this.#transport = undefined;
    }
  }

  [SECRET_BUFFERS](): Uint8Array[] {
    const out = [this.#s.privateKey, ...this.#symmetric[SECRET_BUFFERS]()];
    if (this.#e !== undefined) out.push(this.#e.privateKey);
    if (this.#transport !== undefined) {
      out.push(
        ...this.#transport.send[SECRET_BUFFERS](),
        ...this.#transport.receive[SECRET_BUFFERS](),
      );
    }
    return out;
  }

  #tokens(): readonly Token[] {
    const tokens = KK_PATTERN.messages[this.#step];
    if (tokens === undefined) {
      throw new WireError(
        'HANDSHAKE_FAILED',
        `noise/handshake: expected at most ${KK_PATTERN.messages.length} messages`,
      );
    }
    return tokens;
  }

  /** es / se / ee / ss: which local key meets which remote key depends on the role (spec 5.3). */
  #mixDh(token: 'ee' | 'es' | 'se' | 'ss'): void {
    const initiator = this.role === 'initiator';
    const local = (side: 'e' | 's'): Uint8Array => {
      const key = side === 'e' ? this.#e?.privateKey : this.#s.privateKey;
      if (key === undefined) {
        throw new WireError(
          'HANDSHAKE_FAILED',
          `noise/${token}: expected a local ${side} key, got none`,
        );
      }
      return key;
    };
    const remote = (side: 'e' | 's'): Uint8Array => {
      const key = side === 'e' ? this.#re : this.#rs;
      if (key === undefined) {
        throw new WireError(
          'HANDSHAKE_FAILED',
          `noise/${token}: expected a remote ${side} key, got none`,
        );
      }
      return key;
    };
    // Token "xy": x is the initiator's key, y the responder's.
    const [ini, res] = [token[0] as 'e' | 's', token[1] as 'e' | 's'];
    const secret = initiator ? dh(local(ini), remote(res)) : dh(local(res), remote(ini));
    this.#symmetric.mixKey(secret);
    wipe(secret);
  }

  #advance(): void {
    this.#step += 1;
    if (this.isComplete) {
      const [c1, c2] = this.#symmetric.split();
      const handshakeHash = this.#symmetric.handshakeHash;
      this.#transport =
        this.role === 'initiator'
          ? { send: c1, receive: c2, handshakeHash }
          : { send: c2, receive: c1, handshakeHash };
    }
  }

  #guard<T>(work: () => T): T {
    try {
      return work();
    } catch (e) {
      this.destroy();
      if (e instanceof WireError) throw e;
      throw new WireError('INTERNAL', 'noise/handshake: unexpected failure', { cause: e });
    }
  }

  #checkUsable(place: string): void {
    if (this.#dead) {
      throw new WireError(
        'HANDSHAKE_FAILED',
        `${place}: expected a live handshake, got one destroyed after an error or hand-over`,
      );
    }
  }
}
