/**
 * The wallet descriptor: the one shape Keyline signs for, a 2-of-3 P2WSH sorted multisig of three
 * BIP48 account keys with the receive/change multipath step, checksum required (BIP380/383/389):
 *
 *   wsh(sortedmulti(2,[fp/48'/coin'/account'/2']xpub/<0;1>/*,...x3))#checksum
 *
 * Anything else is refused: the device must never sign for a script it cannot recompute itself,
 * and a lenient parser is where a swapped cosigner or a wrong-network key slips in. Pure: no I/O,
 * no clock; the only state is a cache per parsed wallet: the branch nodes (depth 5) of each key
 * and a bounded map of derived scripts. Child keys are derived with CKDpub on libsecp256k1
 * (ckd-pub.ts): one derivation per key per address.
 * See docs/descriptor-and-sighash.md.
 */

import { equalBytes } from '@noble/ciphers/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { createBase58check } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { SignerError } from '../errors.js';
import { ckdPub, type PublicNode } from './ckd-pub.js';
import {
  descriptorError as bad,
  CHECKSUM_CHARSET,
  DESCRIPTOR_REASONS,
  descriptorChecksum,
  MAX_TEXT,
} from './descriptor-checksum.js';
import {
  compareBytes,
  p2wshScriptPubKey,
  sortedMultisigWitnessScript,
} from './descriptor-script.js';

export { DESCRIPTOR_REASONS, descriptorChecksum } from './descriptor-checksum.js';
export {
  compareBytes,
  p2wshScriptPubKey,
  sortedMultisigWitnessScript,
} from './descriptor-script.js';

export type Network = 'mainnet' | 'testnet' | 'signet' | 'regtest';

export interface DescriptorKey {
  readonly fingerprint: Uint8Array;
  readonly originPath: readonly number[];
  readonly xpub: string;
}

export interface WalletDescriptor {
  /** Canonical form with checksum: `'` for hardened, lower-case hex, keys in the given order. */
  readonly text: string;
  readonly network: Network;
  readonly threshold: 2;
  /** Exactly 3, in descriptor order. */
  readonly keys: readonly DescriptorKey[];
  /** sha256 of the canonical text (32 bytes): the wallet id. */
  readonly id: Uint8Array;
}

export interface DerivedScript {
  readonly witnessScript: Uint8Array;
  readonly scriptPubKey: Uint8Array;
  /** Compressed public keys, sorted as in the script. */
  readonly pubkeys: readonly Uint8Array[];
  /** The same keys in descriptor order (`keyPubkeys[i]` is key i's child at branch/index). */
  readonly keyPubkeys: readonly Uint8Array[];
}

/** Extended key version bytes (BIP32): public and private, per network family. */
const VERSIONS = Object.freeze({
  mainnet: Object.freeze({ public: 0x0488b21e, private: 0x0488ade4 }),
  test: Object.freeze({ public: 0x043587cf, private: 0x04358394 }),
});

const versionsFor = (n: Network) => (n === 'mainnet' ? VERSIONS.mainnet : VERSIONS.test);
/** BIP44/48 coin type: 0 for mainnet, 1 for every test network. */
const coinTypeFor = (n: Network): number => (n === 'mainnet' ? 0 : 1);

const HARDENED = 0x80000000;
const BIP48_DEPTH = 4;
const BIP48_SCRIPT_TYPE_P2WSH = 2;
/** Bound of the per-wallet cache of derived scripts (FIFO eviction). */
export const MAX_CACHED_SCRIPTS = 4096;

const base58check = createBase58check(sha256);
const NETWORKS: readonly Network[] = Object.freeze(['mainnet', 'testnet', 'signet', 'regtest']);

const NUM = '(0|[1-9][0-9]{0,9})';
const H = "(['h])";
/** One key: `[fp/48'/coin'/account'/2']xpub/<0;1>/*`, fingerprint in lower-case hex. */
const KEY_RE = new RegExp(
  `^\\[([0-9a-f]{8})/48${H}/${NUM}${H}/${NUM}${H}/${NUM}${H}\\]([1-9A-HJ-NP-Za-km-z]{100,120})/<0;1>/\\*$`,
);
const BODY_RE = /^wsh\(sortedmulti\(([^,()]*),([^()]*)\)\)$/;

function parseIndex(s: string, what: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n >= HARDENED) {
    throw bad(
      `parse: expected ${what} below 2^31, got ${s.length} digits`,
      DESCRIPTOR_REASONS.PATH,
    );
  }
  return n;
}

function decodeAccountXpub(xpub: string, network: Network, place: string): HDKey {
  let raw: Uint8Array;
  try {
    raw = base58check.decode(xpub);
  } catch {
    throw bad(
      `${place}: expected a Base58Check extended key, got one that does not decode`,
      DESCRIPTOR_REASONS.XPUB,
    );
  }
  if (raw.length !== 78) {
    throw bad(
      `${place}: expected a 78-byte extended key, got ${raw.length} bytes`,
      DESCRIPTOR_REASONS.XPUB,
    );
  }
  const version =
    ((raw[0] ?? 0) << 24) | ((raw[1] ?? 0) << 16) | ((raw[2] ?? 0) << 8) | (raw[3] ?? 0);
  const want = versionsFor(network);
  const other = network === 'mainnet' ? VERSIONS.test : VERSIONS.mainnet;
  if (version >>> 0 === other.public) {
    throw new SignerError(
      'WRONG_NETWORK',
      `descriptor/${place}: expected a ${network === 'mainnet' ? 'xpub' : 'tpub'} for ${network}, got a ${network === 'mainnet' ? 'tpub' : 'xpub'}`,
      { reason: DESCRIPTOR_REASONS.XPUB_VERSION },
    );
  }
  if (version >>> 0 !== want.public) {
    // Never echo the key: it may be a private extended key pasted by mistake.
    throw bad(
      `${place}: expected a public extended key (${network === 'mainnet' ? 'xpub' : 'tpub'}), got version 0x${(version >>> 0).toString(16).padStart(8, '0')}`,
      DESCRIPTOR_REASONS.XPUB_VERSION,
    );
  }
  let node: HDKey;
  try {
    node = HDKey.fromExtendedKey(xpub, want);
  } catch {
    throw bad(
      `${place}: expected a valid extended public key, got an invalid key or chain code`,
      DESCRIPTOR_REASONS.XPUB,
    );
  }
  if (node.privateKey !== null || node.publicKey === null) {
    throw bad(
      `${place}: expected a public extended key, got a private one`,
      DESCRIPTOR_REASONS.XPUB,
    );
  }
  if (node.depth !== BIP48_DEPTH || node.index !== HARDENED + BIP48_SCRIPT_TYPE_P2WSH) {
    throw bad(
      `${place}: expected an account xpub at depth 4, child 2' (BIP48 P2WSH), got depth ${node.depth}, child ${node.index >>> 0}`,
      DESCRIPTOR_REASONS.PATH,
    );
  }
  return node;
}

/**
 * Parses and checks a wallet descriptor for `network`. Throws BAD_DESCRIPTOR for anything that is
 * not the one accepted shape, WRONG_NETWORK for a key or coin type of another network.
 */
export function parseDescriptor(text: string, network: Network): WalletDescriptor {
  if (!NETWORKS.includes(network)) {
    throw bad(
      `parse: expected a network name, got ${typeof network === 'string' ? `'${network.slice(0, 16)}'` : typeof network}`,
      DESCRIPTOR_REASONS.NOT_A_STRING,
    );
  }
  if (typeof text !== 'string') {
    throw bad(
      `parse: expected a descriptor string, got ${typeof text}`,
      DESCRIPTOR_REASONS.NOT_A_STRING,
    );
  }
  if (text.length > MAX_TEXT) {
    throw bad(
      `parse: expected at most ${MAX_TEXT} characters, got ${text.length}`,
      DESCRIPTOR_REASONS.TOO_LONG,
    );
  }
  const hash = text.indexOf('#');
  if (hash < 0) {
    throw bad('parse: expected a checksum after #, got none', DESCRIPTOR_REASONS.CHECKSUM_MISSING);
  }
  const body = text.slice(0, hash);
  const given = text.slice(hash + 1);
  if (given.length !== 8 || ![...given].every((c) => CHECKSUM_CHARSET.includes(c))) {
    throw bad(
      `parse: expected an 8-character checksum after #, got ${given.length} characters${given.length === 8 ? ' outside the checksum alphabet' : ''}`,
      DESCRIPTOR_REASONS.CHECKSUM_FORMAT,
    );
  }
  const computed = descriptorChecksum(body);
  if (computed !== given) {
    throw bad(
      `parse: expected checksum ${computed}, got ${given}`,
      DESCRIPTOR_REASONS.CHECKSUM_MISMATCH,
    );
  }
  const m = BODY_RE.exec(body);
  if (m === null) {
    throw bad(
      'parse: expected wsh(sortedmulti(2,K1,K2,K3)), got another form',
      DESCRIPTOR_REASONS.NOT_WSH_SORTEDMULTI,
    );
  }
  if (m[1] !== '2') {
    throw bad(
      `parse: expected threshold 2, got '${(m[1] ?? '').slice(0, 8)}'`,
      DESCRIPTOR_REASONS.THRESHOLD,
    );
  }
  const parts = (m[2] ?? '').split(',');
  if (parts.length !== 3) {
    throw bad(`parse: expected 3 keys, got ${parts.length}`, DESCRIPTOR_REASONS.KEY_COUNT);
  }
  const coin = coinTypeFor(network);
  const keys: DescriptorKey[] = [];
  const nodes: HDKey[] = [];
  parts.forEach((part, i) => {
    const k = KEY_RE.exec(part);
    if (k === null) {
      throw bad(
        `parse: key ${i}: expected [fingerprint/48'/coin'/account'/2']xpub/<0;1>/*, got another form`,
        DESCRIPTOR_REASONS.KEY_FORMAT,
        { key: i },
      );
    }
    const coinType = parseIndex(k[3] ?? '', 'a coin type');
    const account = parseIndex(k[5] ?? '', 'an account');
    if (k[7] !== String(BIP48_SCRIPT_TYPE_P2WSH)) {
      throw bad(
        `parse: key ${i}: expected BIP48 script type 2' (P2WSH), got ${k[7]}'`,
        DESCRIPTOR_REASONS.PATH,
        { key: i },
      );
    }
    if (coinType !== coin) {
      throw new SignerError(
        'WRONG_NETWORK',
        `descriptor/parse: key ${i}: expected coin type ${coin}' for ${network}, got ${coinType}'`,
        { reason: DESCRIPTOR_REASONS.COIN_TYPE, key: i },
      );
    }
    const xpub = k[9] ?? '';
    nodes.push(decodeAccountXpub(xpub, network, `parse: key ${i}`));
    keys.push(
      Object.freeze({
        fingerprint: hexToBytes(k[1] ?? ''),
        originPath: Object.freeze([
          48 + HARDENED,
          coin + HARDENED,
          account + HARDENED,
          BIP48_SCRIPT_TYPE_P2WSH + HARDENED,
        ]),
        xpub,
      }),
    );
  });
  for (let i = 0; i < 3; i++) {
    for (let j = i + 1; j < 3; j++) {
      const a = nodes[i];
      const b = nodes[j];
      const ka = keys[i];
      const kb = keys[j];
      if (a === undefined || b === undefined || ka === undefined || kb === undefined) continue;
      if (
        equalBytes(a.publicKey ?? new Uint8Array(), b.publicKey ?? new Uint8Array()) ||
        equalBytes(ka.fingerprint, kb.fingerprint)
      ) {
        throw bad(
          `parse: expected 3 distinct keys and fingerprints, got keys ${i} and ${j} alike`,
          DESCRIPTOR_REASONS.DUPLICATE_KEY,
          { keys: [i, j] },
        );
      }
    }
  }
  const canonicalBody = `wsh(sortedmulti(2,${keys
    .map(
      (k) =>
        `[${bytesToHex(k.fingerprint)}/48'/${coin}'/${(k.originPath[2] ?? 0) - HARDENED}'/2']${k.xpub}/<0;1>/*`,
    )
    .join(',')}))`;
  const canonical = `${canonicalBody}#${descriptorChecksum(canonicalBody)}`;
  const wallet: WalletDescriptor = Object.freeze({
    text: canonical,
    network,
    threshold: 2 as const,
    keys: Object.freeze(keys),
    id: sha256(new TextEncoder().encode(canonical)),
  });
  caches.set(
    wallet,
    newCache(
      nodes.map((n) => {
        const publicKey = n.publicKey;
        const chainCode = n.chainCode;
        if (publicKey === null || chainCode === null) {
          throw bad('parse: expected an xpub with a key and a chain code', DESCRIPTOR_REASONS.XPUB);
        }
        return Object.freeze({ publicKey, chainCode });
      }),
    ),
  );
  return wallet;
}

interface WalletCache {
  /** The three account nodes (depth 4), descriptor order. */
  readonly accounts: readonly PublicNode[];
  /** Branch nodes (account/branch, depth 5) per key, derived on first use. */
  readonly branches: (readonly PublicNode[] | undefined)[];
  readonly scripts: Map<number, DerivedScript>;
}

const caches = new WeakMap<WalletDescriptor, WalletCache>();

function newCache(accounts: readonly PublicNode[]): WalletCache {
  return { accounts, branches: [undefined, undefined], scripts: new Map() };
}

function cacheFor(wallet: WalletDescriptor): WalletCache {
  const found = caches.get(wallet);
  if (found !== undefined) return found;
  // A wallet object not made by parseDescriptor here: re-check it from its own text.
  if (wallet === null || typeof wallet !== 'object' || typeof wallet.text !== 'string') {
    throw bad('derive: expected a wallet descriptor object', DESCRIPTOR_REASONS.NOT_A_STRING);
  }
  const reparsed = parseDescriptor(wallet.text, wallet.network);
  const same =
    reparsed.text === wallet.text &&
    Array.isArray(wallet.keys) &&
    wallet.keys.length === 3 &&
    wallet.keys.every((k, i) => k.xpub === reparsed.keys[i]?.xpub);
  if (!same) {
    throw bad(
      'derive: expected a wallet whose keys match its canonical text, got a mismatch',
      DESCRIPTOR_REASONS.KEY_FORMAT,
    );
  }
  const cache = caches.get(reparsed);
  if (cache === undefined)
    throw bad('derive: cache missing after parse', DESCRIPTOR_REASONS.KEY_FORMAT);
  caches.set(wallet, cache);
  return cache;
}

const copyDerived = (d: DerivedScript): DerivedScript =>
  Object.freeze({
    witnessScript: d.witnessScript.slice(),
    scriptPubKey: d.scriptPubKey.slice(),
    pubkeys: Object.freeze(d.pubkeys.map((p) => p.slice())),
    keyPubkeys: Object.freeze(d.keyPubkeys.map((p) => p.slice())),
  });

/** CKDpub or a refusal: BIP32's invalid child (IL >= n or infinity) is never replaced by i + 1. */
function child(parent: PublicNode, index: number, what: string): PublicNode {
  const node = ckdPub(parent, index);
  if (node === null) {
    throw bad(
      `derive: expected a valid BIP32 child at ${what}, got an invalid one (IL >= n or the point at infinity)`,
      DESCRIPTOR_REASONS.INDEX,
    );
  }
  return node;
}

/**
 * The witness script and scriptPubKey at `branch/index` (0 = receive, 1 = change) of the wallet,
 * derived from its three xpubs, with the child keys sorted (as in the script) and in descriptor
 * order (so a caller needing key i's child, e.g. the device's own, does not derive it again). Parent nodes and up to MAX_CACHED_SCRIPTS results are cached per
 * wallet; every call returns fresh copies, so a caller cannot poison the cache.
 */
export function deriveScript(
  wallet: WalletDescriptor,
  branch: 0 | 1,
  index: number,
): DerivedScript {
  if (branch !== 0 && branch !== 1) {
    throw bad(
      `derive: expected branch 0 or 1, got ${String(branch).slice(0, 12)}`,
      DESCRIPTOR_REASONS.BRANCH,
    );
  }
  if (!Number.isInteger(index) || index < 0 || index >= HARDENED) {
    throw bad(
      `derive: expected an unhardened index 0..2^31-1, got ${String(index).slice(0, 24)}`,
      DESCRIPTOR_REASONS.INDEX,
    );
  }
  const cache = cacheFor(wallet);
  const key = branch * HARDENED + index;
  const hit = cache.scripts.get(key);
  if (hit !== undefined) return copyDerived(hit);
  let nodes = cache.branches[branch];
  if (nodes === undefined) {
    nodes = Object.freeze(cache.accounts.map((a, k) => child(a, branch, `key ${k} /${branch}`)));
    cache.branches[branch] = nodes;
  }
  const keyPubkeys = nodes.map((n, k) => child(n, index, `key ${k} /${branch}/${index}`).publicKey);
  const witnessScript = sortedMultisigWitnessScript(2, keyPubkeys);
  const derived: DerivedScript = Object.freeze({
    witnessScript,
    scriptPubKey: p2wshScriptPubKey(witnessScript),
    pubkeys: Object.freeze([...keyPubkeys].sort(compareBytes)),
    keyPubkeys: Object.freeze(keyPubkeys),
  });
  cache.scripts.set(key, derived);
  if (cache.scripts.size > MAX_CACHED_SCRIPTS) {
    const oldest = cache.scripts.keys().next();
    if (oldest.done !== true) cache.scripts.delete(oldest.value);
  }
  return copyDerived(derived);
}

/**
 * Index (0..2) of the device's own key in the wallet: same master fingerprint and same account
 * xpub (and, when given, the same origin path). Throws WALLET_NOT_REGISTERED when absent.
 */
export function findOwnKey(
  wallet: WalletDescriptor,
  fingerprint: Uint8Array,
  accountXpub: string,
  accountPath?: readonly number[],
): number {
  if (!(fingerprint instanceof Uint8Array) || fingerprint.length !== 4) {
    throw bad('findOwnKey: expected a 4-byte fingerprint', DESCRIPTOR_REASONS.KEY_FORMAT);
  }
  if (typeof accountXpub !== 'string') {
    throw bad(
      `findOwnKey: expected an xpub string, got ${typeof accountXpub}`,
      DESCRIPTOR_REASONS.KEY_FORMAT,
    );
  }
  const matches: number[] = [];
  wallet.keys.forEach((k, i) => {
    const pathOk =
      accountPath === undefined ||
      (accountPath.length === k.originPath.length &&
        accountPath.every((p, j) => p === k.originPath[j]));
    if (equalBytes(k.fingerprint, fingerprint) && k.xpub === accountXpub && pathOk) matches.push(i);
  });
  const only = matches[0];
  if (matches.length !== 1 || only === undefined) {
    throw new SignerError(
      'WALLET_NOT_REGISTERED',
      `descriptor/findOwnKey: expected this device's key [${bytesToHex(fingerprint)}] in the wallet once, got ${matches.length} matches`,
      { reason: DESCRIPTOR_REASONS.NOT_OWN_KEY },
    );
  }
  return only;
}
