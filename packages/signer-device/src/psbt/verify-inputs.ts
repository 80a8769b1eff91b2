/**
 * Step 6 of verify-psbt: every input is the registered wallet's, signed with SIGHASH_ALL only.
 * The input's PSBT_IN_BIP32_DERIVATION for OUR fingerprint only names a branch and index; the script
 * is recomputed from the registered descriptor there and must equal the proven prevout script.
 * Pure (the only state is the descriptor's per-wallet derivation cache).
 */

import { equalBytes } from '@noble/ciphers/utils.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { VerifiedInput } from '../tx-summary.js';
import { type DerivedScript, deriveScript, type WalletDescriptor } from './descriptor.js';
import {
  badPsbt,
  type PrescannedPsbt,
  type RawMap,
  type RawTxOutput,
  singleValue,
} from './parse-psbt.js';
import { refuse, VERIFY_REASONS } from './verify-reasons.js';

const IN_SIGHASH_TYPE = 0x03;
const IN_WITNESS_SCRIPT = 0x05;
const IN_BIP32_DERIVATION = 0x06;
const SIGHASH_ALL = 1;
const HARDENED = 0x80000000;

export interface Derivation {
  readonly pubkey: Uint8Array;
  readonly fingerprint: Uint8Array;
  readonly path: readonly number[];
}

/**
 * The BIP32 derivation records (`keyType`: PSBT_IN_BIP32_DERIVATION 0x06, PSBT_OUT_BIP32_DERIVATION
 * 0x02) of a map whose fingerprint is `fingerprint`.
 */
export function derivationsFor(
  map: RawMap,
  keyType: number,
  fingerprint: Uint8Array,
  place: string,
): Derivation[] {
  const out: Derivation[] = [];
  for (const e of map) {
    if (e.keyType !== keyType) continue;
    const v = e.value;
    if (v.length < 4 || (v.length - 4) % 4 !== 0) {
      throw badPsbt(
        place,
        `expected a BIP32 derivation of 4 + 4n bytes, got ${v.length}`,
        VERIFY_REASONS.BAD_FIELD,
      );
    }
    if (!equalBytes(v.subarray(0, 4), fingerprint)) continue;
    const path: number[] = [];
    for (let k = 4; k < v.length; k += 4) {
      path.push(
        ((v[k] ?? 0) |
          ((v[k + 1] ?? 0) << 8) |
          ((v[k + 2] ?? 0) << 16) |
          ((v[k + 3] ?? 0) << 24)) >>>
          0,
      );
    }
    out.push({ pubkey: e.key.slice(1), fingerprint: v.slice(0, 4), path });
  }
  return out;
}

/** Branch and index when `path` is exactly `origin/branch/index`; otherwise why not. */
export function splitPath(
  path: readonly number[],
  origin: readonly number[],
): { branch: 0 | 1; index: number } | 'network' | 'path' {
  const coinAt = 1;
  if (path.length !== origin.length + 2) return 'path';
  for (let k = 0; k < origin.length; k++) {
    if (path[k] === origin[k]) continue;
    const other = path[k] === HARDENED || path[k] === HARDENED + 1;
    return k === coinAt && other ? 'network' : 'path';
  }
  const branch = path[origin.length];
  const index = path[origin.length + 1];
  if ((branch !== 0 && branch !== 1) || index === undefined || index >= HARDENED) return 'path';
  return { branch, index };
}

/**
 * The device's own child public keys: key `ownKeyIndex`'s child as `deriveScript` derives it for
 * the script (descriptor order, cached per wallet), so our key is derived once per address, not
 * twice. The constructor checks the index.
 */
export class OwnKeys {
  private readonly wallet: WalletDescriptor;
  private readonly ownKeyIndex: number;
  constructor(wallet: WalletDescriptor, ownKeyIndex: number) {
    if (
      !Number.isInteger(ownKeyIndex) ||
      wallet?.keys?.[ownKeyIndex] === undefined ||
      ownKeyIndex < 0
    ) {
      throw badPsbt(
        'context',
        `expected ownKeyIndex 0..${(wallet?.keys?.length ?? 3) - 1}, got ${String(ownKeyIndex).slice(0, 12)}`,
        VERIFY_REASONS.BAD_CONTEXT,
      );
    }
    this.wallet = wallet;
    this.ownKeyIndex = ownKeyIndex;
  }
  pubkey(branch: 0 | 1, index: number): Uint8Array {
    return ownChild(deriveScript(this.wallet, branch, index), this.ownKeyIndex);
  }
}

/** Key `ownKeyIndex`'s child out of a derived script (descriptor order). */
function ownChild(derived: DerivedScript, ownKeyIndex: number): Uint8Array {
  const pk = derived.keyPubkeys[ownKeyIndex];
  if (pk === undefined)
    throw badPsbt('derive', 'expected a child public key, got none', VERIFY_REASONS.BAD_CONTEXT);
  return pk;
}

export interface InputFacts {
  readonly verified: VerifiedInput;
  readonly witnessScript: Uint8Array;
  readonly ownPubkey: Uint8Array;
}

export interface InputContext {
  readonly wallet: WalletDescriptor;
  readonly ownKeyIndex: number;
  readonly own: OwnKeys;
}

function checkSighash(map: RawMap, i: number): void {
  const place = `input ${i}`;
  const v = singleValue(map, IN_SIGHASH_TYPE, place);
  if (v === undefined) return;
  if (v.length !== 4) {
    throw badPsbt(
      place,
      `expected a 4-byte sighash type, got ${v.length} bytes`,
      VERIFY_REASONS.BAD_FIELD,
      { input: i },
    );
  }
  const t = ((v[0] ?? 0) | ((v[1] ?? 0) << 8) | ((v[2] ?? 0) << 16) | ((v[3] ?? 0) << 24)) >>> 0;
  if (t !== SIGHASH_ALL) {
    throw refuse(
      place,
      `expected sighash type absent or SIGHASH_ALL (1), got 0x${t.toString(16)}`,
      VERIFY_REASONS.SIGHASH_NOT_ALL,
      { input: i },
    );
  }
}

function checkOwnership(map: RawMap, prevout: RawTxOutput, i: number, ctx: InputContext) {
  const place = `input ${i}`;
  const key = ctx.wallet.keys[ctx.ownKeyIndex];
  if (key === undefined)
    throw badPsbt('context', 'expected our key in the wallet', VERIFY_REASONS.BAD_CONTEXT);
  const mine = derivationsFor(map, IN_BIP32_DERIVATION, key.fingerprint, place);
  if (mine.length === 0) {
    throw refuse(
      place,
      "expected a BIP32 derivation for this device's fingerprint, got none: not this wallet's input",
      VERIFY_REASONS.FOREIGN_INPUT,
      { input: i },
    );
  }
  const d = mine[0];
  if (mine.length > 1 || d === undefined) {
    throw refuse(
      place,
      `expected one BIP32 derivation for this device's fingerprint, got ${mine.length}`,
      VERIFY_REASONS.WRONG_DERIVATION_PATH,
      { input: i },
    );
  }
  const split = splitPath(d.path, key.originPath);
  if (split === 'network') {
    throw refuse(
      place,
      `expected coin type ${(key.originPath[1] ?? 0) - HARDENED}' for ${ctx.wallet.network}, got a path of another network`,
      VERIFY_REASONS.WRONG_NETWORK_SCRIPT,
      { input: i },
    );
  }
  if (split === 'path') {
    throw refuse(
      place,
      "expected the derivation path to be the wallet's origin path + /branch(0|1)/index(<2^31), got another path",
      VERIFY_REASONS.WRONG_DERIVATION_PATH,
      { input: i },
    );
  }
  const derived = deriveScript(ctx.wallet, split.branch, split.index);
  if (!equalBytes(derived.scriptPubKey, prevout.script)) {
    throw refuse(
      place,
      `expected the prevout script to be the wallet's script at ${split.branch}/${split.index}, got another script`,
      VERIFY_REASONS.FOREIGN_INPUT,
      { input: i },
    );
  }
  // Our key at branch/index, as derived for the script just checked (not derived a second time).
  const ownPubkey = ownChild(derived, ctx.ownKeyIndex);
  if (!equalBytes(ownPubkey, d.pubkey) || !derived.pubkeys.some((p) => equalBytes(p, ownPubkey))) {
    throw refuse(
      place,
      "expected the derivation's public key to be this device's key at that path, got another key",
      VERIFY_REASONS.BIP32_PUBKEY_MISMATCH,
      { input: i },
    );
  }
  const ws = singleValue(map, IN_WITNESS_SCRIPT, place);
  if (ws !== undefined && !equalBytes(ws, derived.witnessScript)) {
    throw refuse(
      place,
      'expected witness_script to equal the script recomputed from the descriptor, got another',
      VERIFY_REASONS.WITNESS_SCRIPT_MISMATCH,
      { input: i },
    );
  }
  return { split, witnessScript: derived.witnessScript, ownPubkey };
}

export function checkInputs(
  pre: PrescannedPsbt,
  prevouts: readonly RawTxOutput[],
  ctx: InputContext,
): readonly InputFacts[] {
  const seen = new Set<string>();
  return pre.tx.inputs.map((inp, i) => {
    const map = pre.inputs[i] ?? [];
    const prevout = prevouts[i];
    if (prevout === undefined)
      throw badPsbt(`input ${i}`, 'expected a proven prevout', VERIFY_REASONS.BAD_CONTEXT);
    checkSighash(map, i);
    const op = `${bytesToHex(inp.txid)}:${inp.vout}`;
    if (seen.has(op)) {
      throw refuse(
        `input ${i}`,
        'expected each outpoint once, got one spent twice',
        VERIFY_REASONS.DUPLICATE_INPUT,
        { input: i },
      );
    }
    seen.add(op);
    const { split, witnessScript, ownPubkey } = checkOwnership(map, prevout, i, ctx);
    const verified: VerifiedInput = Object.freeze({
      index: i,
      outpoint: Object.freeze({ txid: inp.txid.slice(), vout: inp.vout }),
      amount: prevout.amount,
      branch: split.branch,
      addressIndex: split.index,
      sequence: inp.sequence,
    });
    return Object.freeze({ verified, witnessScript, ownPubkey });
  });
}
