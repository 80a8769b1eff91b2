/**
 * From the unsigned PSBT and two devices' `sign_psbt` replies to the raw signed transaction:
 *
 *   1 parsePsbt → 2 inputKeys (script recomputed from the descriptor, BIP143 digests) →
 *   3 checkReplies (every signature verified; signature-replies.ts) → 4 combine (witness
 *   `OP_0 sigA sigB witnessScript`, signatures in the script's key order) → 5 extract → 6 recheck
 *
 * The digests are computed here with the device library's linear BIP143 hasher, from the amounts
 * the PSBT's `witness_utxo` states — which the PSBT parser has checked against the full previous
 * transaction. Pure. docs/vault.md §5.
 */
import { Bip143Sighash } from '@keyline/signer-device/wallet';
import { equalBytes } from '@noble/curves/utils.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Transaction } from '@scure/btc-signer';
import { CoordinatorError } from '../errors.js';
import { displayHex, parseRawTx, type RawTx } from './raw-tx.js';
import {
  type CheckedSignature,
  checkDeviceReply,
  checkReplies,
  type DeviceReply,
  FINALIZE_REASONS,
  type InputKeys,
  refuse,
} from './signature-replies.js';
import { deriveAddress, type VaultWallet } from './wallet.js';

export { type DeviceReply, FINALIZE_REASONS, type FinalizeReason } from './signature-replies.js';

export interface FinalizedTransaction {
  /** The signed transaction, BIP144 serialization. */
  readonly raw: Uint8Array;
  readonly hex: string;
  /** Display hex; equal to the unsigned transaction's. */
  readonly txid: string;
  readonly weight: number;
  readonly vsize: number;
  readonly fee: bigint;
  /** Per input, the devices whose signatures are in its witness, in witness order. */
  readonly signers: readonly (readonly [string, string])[];
}

interface ParsedPsbt {
  readonly tx: Transaction;
  readonly unsigned: RawTx;
}

const badPsbt = (message: string, detail: Record<string, unknown> = {}) =>
  refuse(FINALIZE_REASONS.BAD_PSBT, `psbt: ${message}`, detail);

/** 1: parse (btc-signer checks each witness_utxo against its non_witness_utxo). */
function parsePsbt(psbt: Uint8Array): ParsedPsbt {
  if (!(psbt instanceof Uint8Array)) throw badPsbt('expected PSBT bytes');
  let tx: Transaction;
  try {
    tx = Transaction.fromPSBT(psbt);
  } catch (err) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      'vault/finalize/psbt: expected a PSBT the library parses, got one it refuses',
      { reason: FINALIZE_REASONS.BAD_PSBT },
      { cause: err },
    );
  }
  return { tx, unsigned: parseRawTx(tx.unsignedTx, 'vault/finalize/psbt unsigned tx') };
}

/** The input's branch/index from its BIP32 records for the wallet's keys (all must agree). */
function branchIndex(
  wallet: VaultWallet,
  tx: Transaction,
  i: number,
): { branch: 0 | 1; index: number } {
  const records = tx.getInput(i).bip32Derivation ?? [];
  let found: { branch: 0 | 1; index: number } | undefined;
  for (const [, { fingerprint, path }] of records) {
    const key = wallet.keys.find((k) => k.fingerprintNumber === fingerprint);
    if (key === undefined) continue;
    const n = key.originPath.length;
    const ok = path.length === n + 2 && key.originPath.every((p, j) => path[j] === p);
    const branch = path[n];
    const index = path[n + 1];
    if (!ok || (branch !== 0 && branch !== 1) || index === undefined || index >= 0x80000000) {
      throw badPsbt(`input ${i}: expected BIP32 paths origin/branch/index, got another path`, {
        input: i,
      });
    }
    if (found !== undefined && (found.branch !== branch || found.index !== index)) {
      throw badPsbt(`input ${i}: expected the three keys at one branch/index, got two`, {
        input: i,
      });
    }
    found = { branch, index };
  }
  if (found === undefined)
    throw badPsbt(`input ${i}: expected BIP32 records of the wallet's keys, got none`, {
      input: i,
    });
  return found;
}

/** 2: per input, the keys recomputed from the descriptor and the BIP143 digest. */
function inputKeys(
  wallet: VaultWallet,
  p: ParsedPsbt,
): {
  keys: InputKeys[];
  scripts: Uint8Array[];
  sorted: (readonly Uint8Array[])[];
  totalIn: bigint;
} {
  const { unsigned } = p;
  const hasher = new Bip143Sighash({
    version: unsigned.version,
    locktime: unsigned.locktime,
    inputs: unsigned.inputs.map((x) => ({ txid: x.txid, vout: x.vout, sequence: x.sequence })),
    outputs: unsigned.outputs.map((o) => ({ script: o.script, amount: o.amount })),
  });
  const keys: InputKeys[] = [];
  const scripts: Uint8Array[] = [];
  const sorted: (readonly Uint8Array[])[] = [];
  let totalIn = 0n;
  unsigned.inputs.forEach((_, i) => {
    const { branch, index } = branchIndex(wallet, p.tx, i);
    const addr = deriveAddress(wallet, branch, index);
    const input = p.tx.getInput(i);
    const utxo = input.witnessUtxo;
    if (utxo === undefined || !equalBytes(utxo.script, addr.script)) {
      throw badPsbt(
        `input ${i}: expected a witness_utxo paying the wallet's script at ${branch}/${index}`,
        { input: i },
      );
    }
    if (input.witnessScript !== undefined && !equalBytes(input.witnessScript, addr.witnessScript)) {
      throw badPsbt(
        `input ${i}: expected the wallet's witness script at ${branch}/${index}, got another`,
        { input: i },
      );
    }
    totalIn += utxo.amount;
    keys.push({
      keyPubkeys: addr.keyPubkeys,
      digest: hasher.digest(i, addr.witnessScript, utxo.amount),
    });
    scripts.push(addr.witnessScript);
    sorted.push(addr.pubkeys);
  });
  return { keys, scripts, sorted, totalIn };
}

/** 4: `OP_0 <sig> <sig> <witnessScript>`, signatures in the order of their keys in the script. */
function inScriptOrder(
  pair: readonly [CheckedSignature, CheckedSignature],
  sortedKeys: readonly Uint8Array[],
): readonly [CheckedSignature, CheckedSignature] {
  const pos = (s: CheckedSignature) => sortedKeys.findIndex((k) => equalBytes(k, s.pubkey));
  return pos(pair[0]) < pos(pair[1]) ? pair : [pair[1], pair[0]];
}

/**
 * Check ONE device's signatures for `psbt` as they arrive (so the orchestrator can drop a faulty
 * device and ask the third): every input signed once, by one key of the wallet, verifying.
 * Returns the descriptor position (0..2) of the key the device signed with.
 */
export function verifyDeviceReply(
  wallet: VaultWallet,
  psbt: Uint8Array,
  reply: DeviceReply,
): { readonly keyIndex: number } {
  const { keys } = inputKeys(wallet, parsePsbt(psbt));
  const checked = checkDeviceReply(reply, keys);
  return Object.freeze({ keyIndex: checked[0]?.keyIndex ?? -1 });
}

export function finalizeTransaction(
  wallet: VaultWallet,
  psbt: Uint8Array,
  replies: readonly DeviceReply[],
): FinalizedTransaction {
  const parsed = parsePsbt(psbt); //                                         1
  const { keys, scripts, sorted, totalIn } = inputKeys(wallet, parsed); //   2
  const pairs = checkReplies(replies, keys); //                             3
  const { tx, unsigned } = parsed;
  const signers = pairs.map((pair, i) => {
    const [x, y] = inScriptOrder(pair, sorted[i] ?? []); //                 4
    const witness = [new Uint8Array(0), x.signature, y.signature, scripts[i] ?? new Uint8Array()];
    tx.updateInput(i, { finalScriptWitness: witness }, true);
    return Object.freeze([x.device, y.device] as const);
  });
  let raw: Uint8Array;
  try {
    raw = tx.extract(); //                                                   5
  } catch (err) {
    throw new CoordinatorError(
      'INTERNAL',
      'vault/finalize/extract: expected a final transaction, got one the library will not extract',
      {},
      { cause: err },
    );
  }
  const signed = parseRawTx(raw, 'vault/finalize/extract'); //               6
  if (!signed.hasWitness || !equalBytes(signed.txid, unsigned.txid)) {
    throw new CoordinatorError(
      'INTERNAL',
      'vault/finalize/extract: expected the signed transaction to keep the unsigned txid, got another',
    );
  }
  const totalOut = unsigned.outputs.reduce((s, o) => s + o.amount, 0n);
  const weight = tx.weight;
  return Object.freeze({
    raw,
    hex: bytesToHex(raw),
    txid: displayHex(signed.txid),
    weight,
    vsize: Math.ceil(weight / 4),
    fee: totalIn - totalOut,
    signers: Object.freeze(signers),
  });
}
