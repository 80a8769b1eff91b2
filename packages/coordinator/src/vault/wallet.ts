/**
 * The vault's descriptor wallet: the 2-of-3 P2WSH sorted multisig of the three enrolled BIP48
 * account keys, exactly the text the devices register,
 *
 *   wsh(sortedmulti(2,[fp/48'/c'/0'/2']xpub/<0;1>/*,...x3))#checksum
 *
 * parsed by the device's own `parseDescriptor` (same wallet id, same derived scripts on both
 * sides), the two single-path descriptors (`/0/*` receive, `/1/*` change) for Bitcoin Core's
 * `importdescriptors` (watch-only), and addresses at branch/index. Pure: no I/O; the only state is
 * the device library's per-wallet derivation cache. docs/vault.md §1.
 */
import {
  deriveScript,
  descriptorChecksum,
  type Network,
  parseDescriptor,
  type WalletDescriptor,
} from '@keyline/signer-device/wallet';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Address, type NETWORK, OutScript } from '@scure/btc-signer';
import { z } from 'zod';
import { CoordinatorError } from '../errors.js';

export type { Network } from '@keyline/signer-device/wallet';

const PLACE = 'vault/wallet';
const HARDENED = 0x80000000;
/** Highest unhardened child index. */
export const MAX_ADDRESS_INDEX = HARDENED - 1;

/** Receive (deposit) addresses are branch 0, change addresses branch 1 (BIP44/48 layout). */
export const RECEIVE = 0;
export const CHANGE = 1;
export type Branch = typeof RECEIVE | typeof CHANGE;

type BtcNetwork = typeof NETWORK;
/** Address parameters per network; regtest's `bcrt` is not among the library's presets. */
const ADDRESS_NETWORKS: Readonly<Record<Network, BtcNetwork>> = Object.freeze({
  mainnet: Object.freeze({ bech32: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, wif: 0x80 }),
  testnet: Object.freeze({ bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef }),
  signet: Object.freeze({ bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef }),
  regtest: Object.freeze({ bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef }),
});

const BASE58 = /^[1-9A-HJ-NP-Za-km-z]{100,120}$/;
/** `m/48'/coin'/account'/2'`, hardened with `'` or `h`. */
const BIP48_PATH = /^m\/48['h]\/(0|[1-9][0-9]{0,9})['h]\/(0|[1-9][0-9]{0,9})['h]\/2['h]$/;

/** One enrolled signer key, as the device's `get_xpub` reply gives it. */
export const enrolledKeySchema = z.strictObject({
  fingerprint: z.instanceof(Uint8Array).refine((b) => b.length === 4, 'expected 4 bytes'),
  path: z.string().regex(BIP48_PATH, "expected a BIP48 P2WSH path m/48'/coin'/account'/2'"),
  xpub: z.string().regex(BASE58, 'expected a base58 extended public key'),
});
export interface EnrolledKey {
  readonly fingerprint: Uint8Array;
  /** m/48'/coin'/account'/2' (`'` or `h`). */
  readonly path: string;
  readonly xpub: string;
}

/** One key of the wallet, in descriptor order, ready for PSBT BIP32 derivation records. */
export interface WalletKey {
  readonly fingerprint: Uint8Array;
  /** The fingerprint as the big-endian u32 @scure/btc-signer takes. */
  readonly fingerprintNumber: number;
  /** m/48'/coin'/account'/2' as numbers (hardened bit set). */
  readonly originPath: readonly number[];
  readonly xpub: string;
}

export interface VaultWallet {
  readonly network: Network;
  /** The canonical multipath descriptor with checksum: what the devices register. */
  readonly descriptor: string;
  /** sha256 of `descriptor`: the wallet id the devices compute. */
  readonly id: Uint8Array;
  readonly idHex: string;
  /** `/0/*` single-path descriptor with its own checksum (Core `importdescriptors`, receive). */
  readonly receiveDescriptor: string;
  /** `/1/*` single-path descriptor with its own checksum (Core `importdescriptors`, internal). */
  readonly changeDescriptor: string;
  readonly keys: readonly WalletKey[];
  /** The device library's parsed wallet (its derivation cache is keyed by this object). */
  readonly parsed: WalletDescriptor;
}

/** A PSBT BIP32 derivation record: child pubkey, master fingerprint, full path. */
export interface KeyDerivation {
  readonly pubkey: Uint8Array;
  readonly fingerprint: number;
  readonly path: readonly number[];
}

export interface WalletAddress {
  readonly branch: Branch;
  readonly index: number;
  /** scriptPubKey: OP_0 <sha256(witnessScript)> (34 bytes). */
  readonly script: Uint8Array;
  /** OP_2 <pk> <pk> <pk> OP_3 OP_CHECKMULTISIG with the keys sorted (105 bytes). */
  readonly witnessScript: Uint8Array;
  /** bech32 (segwit v0) address of `script` on the wallet's network. */
  readonly address: string;
  /** Child keys sorted as in the witness script. */
  readonly pubkeys: readonly Uint8Array[];
  /** Child keys in descriptor order (`keyPubkeys[i]` is key i's). */
  readonly keyPubkeys: readonly Uint8Array[];
  /** One derivation record per key, in descriptor order. */
  readonly derivations: readonly KeyDerivation[];
}

function badConfig(message: string, detail: Record<string, unknown> = {}, cause?: unknown) {
  return new CoordinatorError(
    'BAD_CONFIG',
    `${PLACE}/${message}`,
    detail,
    cause === undefined ? undefined : { cause },
  );
}

/** The device library throws its own SignerError; keep its code and reason in `detail`. */
function deviceReason(err: unknown): Record<string, unknown> {
  const e = err as { code?: unknown; detail?: { reason?: unknown } };
  return { deviceCode: e?.code, reason: e?.detail?.reason };
}

function parseOrThrow(text: string, network: Network, place: string): WalletDescriptor {
  try {
    return parseDescriptor(text, network);
  } catch (err) {
    const d = deviceReason(err);
    throw badConfig(
      `${place}: expected a descriptor the devices accept for ${network}, got one refused (${String(d.reason)})`,
      d,
      err,
    );
  }
}

function pathText(path: string): string {
  // Canonical marker `'`; the regex already fixed the shape.
  return path.slice(2).replaceAll('h', "'");
}

function singlePath(multipath: string, branch: Branch): string {
  const body = multipath.slice(0, multipath.indexOf('#')).replaceAll('/<0;1>/*', `/${branch}/*`);
  return `${body}#${descriptorChecksum(body)}`;
}

function fromParsed(parsed: WalletDescriptor): VaultWallet {
  const keys = parsed.keys.map((k) =>
    Object.freeze({
      fingerprint: k.fingerprint.slice(),
      fingerprintNumber:
        (((k.fingerprint[0] ?? 0) << 24) |
          ((k.fingerprint[1] ?? 0) << 16) |
          ((k.fingerprint[2] ?? 0) << 8) |
          (k.fingerprint[3] ?? 0)) >>>
        0,
      originPath: Object.freeze([...k.originPath]),
      xpub: k.xpub,
    }),
  );
  return Object.freeze({
    network: parsed.network,
    descriptor: parsed.text,
    id: parsed.id.slice(),
    idHex: bytesToHex(parsed.id),
    receiveDescriptor: singlePath(parsed.text, RECEIVE),
    changeDescriptor: singlePath(parsed.text, CHANGE),
    keys: Object.freeze(keys),
    parsed,
  });
}

/**
 * The wallet of three enrolled keys, in the given order (the order is part of the text, hence of
 * the wallet id the signed policy registers; the scripts do not depend on it). Each key is checked
 * here and again by the device's parser: BAD_CONFIG on any fault, with the device's reason.
 */
export function buildWallet(keys: readonly EnrolledKey[], network: Network): VaultWallet {
  if (!Array.isArray(keys) || keys.length !== 3) {
    throw badConfig(
      `build: expected 3 enrolled keys, got ${Array.isArray(keys) ? keys.length : typeof keys}`,
    );
  }
  const parts = keys.map((k, i) => {
    const r = enrolledKeySchema.safeParse(k);
    if (!r.success) {
      throw badConfig(
        `build: key ${i}: expected {fingerprint: 4 bytes, path: m/48'/c'/a'/2', xpub}, got ${r.error.issues
          .map((x) => `${x.path.join('.') || '(root)'}: ${x.message}`)
          .join('; ')}`,
        { key: i },
      );
    }
    return `[${bytesToHex(r.data.fingerprint)}/${pathText(r.data.path)}]${r.data.xpub}/<0;1>/*`;
  });
  const body = `wsh(sortedmulti(2,${parts.join(',')}))`;
  const text = `${body}#${descriptorChecksum(body)}`;
  const parsed = parseOrThrow(text, network, 'build');
  if (parsed.text !== text) {
    throw badConfig('build: expected the built descriptor to be canonical, got another form');
  }
  return fromParsed(parsed);
}

/**
 * The wallet of a registered descriptor text (as stored in config or the signed policy). It must
 * be canonical (what `buildWallet` writes and the device's parser prints), so that the id here is
 * the id of the exact text the devices registered.
 */
export function walletFromDescriptor(text: string, network: Network): VaultWallet {
  if (typeof text !== 'string' || text.length > 4096) {
    throw badConfig('load: expected a descriptor string of at most 4096 characters');
  }
  const parsed = parseOrThrow(text, network, 'load');
  if (parsed.text !== text) {
    throw badConfig(
      "load: expected the canonical descriptor text (' markers, lower-case fingerprints), got another form of it",
      { canonical: parsed.text },
    );
  }
  return fromParsed(parsed);
}

/** bech32 address of a segwit v0/v1 (or any standard) scriptPubKey on `network`. */
export function addressOf(script: Uint8Array, network: Network): string {
  const params = ADDRESS_NETWORKS[network];
  if (params === undefined) throw badConfig(`address: expected a network name, got ${network}`);
  try {
    return Address(params).encode(OutScript.decode(script));
  } catch (err) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${PLACE}/address: expected a standard scriptPubKey, got ${script.length} bytes that have no address`,
      {},
      { cause: err },
    );
  }
}

function checkBranchIndex(branch: unknown, index: unknown): asserts branch is Branch {
  if (branch !== RECEIVE && branch !== CHANGE) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${PLACE}/derive: expected branch 0 or 1, got ${String(branch)}`,
    );
  }
  if (
    typeof index !== 'number' ||
    !Number.isInteger(index) ||
    index < 0 ||
    index > MAX_ADDRESS_INDEX
  ) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${PLACE}/derive: expected an index 0..${MAX_ADDRESS_INDEX}, got ${String(index)}`,
    );
  }
}

/**
 * Scripts, address and the three keys' derivation records at branch/index, derived by the
 * device's own `deriveScript` (cached per wallet).
 */
export function deriveAddress(wallet: VaultWallet, branch: Branch, index: number): WalletAddress {
  checkBranchIndex(branch, index);
  const d = deriveScript(wallet.parsed, branch, index);
  const derivations = wallet.keys.map((k, i) => {
    const pubkey = d.keyPubkeys[i];
    if (pubkey === undefined) {
      throw new CoordinatorError(
        'INTERNAL',
        `${PLACE}/derive: expected key ${i}'s child, got none`,
      );
    }
    return Object.freeze({
      pubkey,
      fingerprint: k.fingerprintNumber,
      path: Object.freeze([...k.originPath, branch, index]),
    });
  });
  return Object.freeze({
    branch,
    index,
    script: d.scriptPubKey,
    witnessScript: d.witnessScript,
    address: addressOf(d.scriptPubKey, wallet.network),
    pubkeys: d.pubkeys,
    keyPubkeys: d.keyPubkeys,
    derivations: Object.freeze(derivations),
  });
}

export interface ImportDescriptorsOptions {
  /** Wallet birth time (unix seconds) from which Core rescans, or 'now' for a fresh wallet. */
  readonly timestamp: number | 'now';
  /** Highest index Core keeps derived on each branch (its keypool range end, inclusive). */
  readonly rangeEnd: number;
  /** Next unused receive and change index, so Core hands out the same next addresses. */
  readonly nextReceiveIndex?: number;
  readonly nextChangeIndex?: number;
}

export interface ImportDescriptorRequest {
  readonly desc: string;
  readonly active: true;
  readonly internal: boolean;
  readonly range: readonly [number, number];
  readonly next_index: number;
  readonly timestamp: number | 'now';
}

/**
 * The `importdescriptors` argument for a watch-only Bitcoin Core descriptor wallet (created with
 * `disable_private_keys=true, blank=true`): the receive descriptor (internal: false) and the
 * change descriptor (internal: true), both active and ranged. docs/vault.md §1.
 */
export function importDescriptorsRequest(
  wallet: VaultWallet,
  o: ImportDescriptorsOptions,
): readonly ImportDescriptorRequest[] {
  const okIndex = (n: unknown) =>
    typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_ADDRESS_INDEX;
  if (!okIndex(o.rangeEnd)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${PLACE}/import: expected rangeEnd 0..${MAX_ADDRESS_INDEX}, got ${String(o.rangeEnd)}`,
    );
  }
  if (o.timestamp !== 'now' && !(Number.isSafeInteger(o.timestamp) && o.timestamp >= 0)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${PLACE}/import: expected timestamp unix seconds or 'now', got ${String(o.timestamp)}`,
    );
  }
  const next = (n: number | undefined) => {
    const v = n ?? 0;
    if (!okIndex(v) || v > o.rangeEnd + 1) {
      throw new CoordinatorError(
        'BAD_REQUEST',
        `${PLACE}/import: expected a next index 0..${o.rangeEnd + 1}, got ${String(n)}`,
      );
    }
    return v;
  };
  const entry = (desc: string, internal: boolean, nextIndex: number) =>
    Object.freeze({
      desc,
      active: true as const,
      internal,
      range: Object.freeze([0, o.rangeEnd] as const),
      next_index: nextIndex,
      timestamp: o.timestamp,
    });
  return Object.freeze([
    entry(wallet.receiveDescriptor, false, next(o.nextReceiveIndex)),
    entry(wallet.changeDescriptor, true, next(o.nextChangeIndex)),
  ]);
}
