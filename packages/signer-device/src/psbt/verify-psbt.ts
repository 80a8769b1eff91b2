/**
 * Verification of every PSBT by the device itself, as numbered steps (one small function each).
 * Whatever the prescan and the library check is decided malformed (BAD_PSBT) in steps 1-3, before
 * any refusal. The coordinator may be compromised: nothing in the PSBT is taken on its word. One
 * parse (the
 * prescan's) feeds the summary for the policy AND the sighashes that get signed.
 *
 *   1 checkSize → 2 prescan → 3 parseWithLibrary → 4 checkStructure → 5 checkPrevouts →
 *   6 checkInputs → 7 checkOutputs → 8 computeFee → 9 sighashes
 *
 * Pure: no I/O, no clock, no randomness. Throws SignerError BAD_PSBT (malformed, or over a
 * structural limit) or VERIFICATION_FAILED (a refusal), with `detail.reason` from VERIFY_REASONS
 * and `detail.input` / `detail.output` where one is at fault. See docs/verify-psbt.md.
 */
import { SignerError } from '../errors.js';
import type { TxSummary } from '../tx-summary.js';
import type { Network, WalletDescriptor } from './descriptor.js';
import { MAX_MONEY, type PsbtLimits, type TxRules } from './limits.js';
import { badPsbt, type PrescannedPsbt, prescanPsbt } from './parse-psbt.js';
import { Bip143Sighash } from './sighash.js';
import { computeFee } from './verify-fee.js';
import { checkInputs, type InputFacts, OwnKeys } from './verify-inputs.js';
import { checkOutputs } from './verify-outputs.js';
import { parseWithLibrary } from './verify-parse.js';
import { checkPrevouts } from './verify-prevouts.js';
import { refuse, VERIFY_REASONS } from './verify-reasons.js';
import { checkStructure } from './verify-structure.js';

export { VERIFY_REASONS, type VerifyReason } from './verify-reasons.js';

export interface VerifyContext {
  wallet: WalletDescriptor;
  network: Network;
  /** Which of wallet.keys is this device (from findOwnKey). */
  ownKeyIndex: number;
  /** Change indices accepted: [from, from + size). */
  changeWindow: { from: number; size: number };
  limits: PsbtLimits;
  txRules: TxRules;
}

export interface SigningJob {
  inputIndex: number;
  branch: 0 | 1;
  addressIndex: number;
  /** BIP143 SIGHASH_ALL digest to sign as is (no prehash). */
  digest: Uint8Array;
  /** The device's own child public key at branch/addressIndex. */
  pubkey: Uint8Array;
}

export interface VerifiedPsbt {
  summary: TxSummary;
  jobs: readonly SigningJob[];
}

const isCount = (n: unknown): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Step 0: the caller's context (a bug there must not widen what gets signed). */
function checkContext(ctx: VerifyContext): void {
  const bad = (what: string) => badPsbt('context', what, VERIFY_REASONS.BAD_CONTEXT);
  if (ctx === null || typeof ctx !== 'object') throw bad('expected a verify context object');
  if (ctx.wallet?.network !== ctx.network) {
    throw new SignerError(
      'WRONG_NETWORK',
      `verify-psbt/context: expected a wallet for ${String(ctx.network)}, got one for ${String(ctx.wallet?.network)}`,
      { reason: VERIFY_REASONS.WRONG_NETWORK_SCRIPT },
    );
  }
  if (!isCount(ctx.ownKeyIndex) || ctx.ownKeyIndex >= ctx.wallet.keys.length)
    throw bad(
      `expected ownKeyIndex 0..${ctx.wallet.keys.length - 1}, got ${String(ctx.ownKeyIndex)}`,
    );
  const w = ctx.changeWindow;
  if (!isCount(w?.from) || !isCount(w?.size) || w.from + w.size > 0x80000000)
    throw bad('expected a change window of non-negative integers below 2^31');
  if (
    typeof ctx.txRules?.dustLimitSat !== 'bigint' ||
    !isCount(ctx.txRules.maxLocktime) ||
    !Array.isArray(ctx.txRules.allowedVersions)
  )
    throw bad('expected tx rules { maxLocktime, allowedVersions, dustLimitSat: bigint }');
  const l = ctx.limits;
  const fields = [
    l?.maxPsbtBytes,
    l?.maxInputs,
    l?.maxOutputs,
    l?.maxKeysPerMap,
    l?.maxKeyBytes,
    l?.maxPrevTxBytes,
    l?.maxPrevTxTotalBytes,
    l?.maxPrevTxIo,
    l?.maxScriptBytes,
  ];
  if (!fields.every(isCount)) throw bad('expected every PSBT limit to be a non-negative integer');
}

/** Step 1: the size, before a single byte is interpreted. */
function checkSize(psbt: Uint8Array, limits: PsbtLimits): void {
  if (!(psbt instanceof Uint8Array)) {
    throw badPsbt('size', `expected a Uint8Array, got ${typeof psbt}`, VERIFY_REASONS.NOT_BYTES);
  }
  if (psbt.length > limits.maxPsbtBytes) {
    throw badPsbt(
      'size',
      `expected at most ${limits.maxPsbtBytes} bytes, got ${psbt.length}`,
      VERIFY_REASONS.PSBT_TOO_LARGE,
      { size: psbt.length },
    );
  }
}

function sumInputs(inputs: readonly InputFacts[]): bigint {
  let total = 0n;
  for (const f of inputs) {
    total += f.verified.amount;
    if (total > MAX_MONEY) {
      throw refuse(
        `input ${f.verified.index}`,
        `expected the running sum of inputs at most ${MAX_MONEY} sat, got ${total}`,
        VERIFY_REASONS.AMOUNT_OVERFLOW,
        { input: f.verified.index },
      );
    }
  }
  return total;
}

/** Step 9: one BIP143 context per transaction (shared hashes once), one digest per input. */
function sighashes(pre: PrescannedPsbt, inputs: readonly InputFacts[]): SigningJob[] {
  const { tx } = pre;
  const hasher = new Bip143Sighash({
    version: tx.version,
    locktime: tx.locktime,
    inputs: tx.inputs.map((i) => ({ txid: i.txid, vout: i.vout, sequence: i.sequence })),
    outputs: tx.outputs.map((o) => ({ script: o.script, amount: o.amount })),
  });
  return inputs.map((f) => ({
    inputIndex: f.verified.index,
    branch: f.verified.branch,
    addressIndex: f.verified.addressIndex,
    digest: hasher.digest(f.verified.index, f.witnessScript, f.verified.amount),
    pubkey: f.ownPubkey,
  }));
}

export function verifyPsbt(psbt: Uint8Array, ctx: VerifyContext): VerifiedPsbt {
  checkContext(ctx);
  checkSize(psbt, ctx.limits); //                                  1
  const pre = prescanPsbt(psbt, ctx.limits); //                     2
  parseWithLibrary(pre); //                                         3
  checkStructure(pre, ctx.txRules); //                              4
  const prevouts = checkPrevouts(pre, ctx.limits); //              5
  const own = new OwnKeys(ctx.wallet, ctx.ownKeyIndex);
  const inputs = checkInputs(pre, prevouts, {
    wallet: ctx.wallet,
    ownKeyIndex: ctx.ownKeyIndex,
    own,
  }); // 6
  const totalIn = sumInputs(inputs);
  const outs = checkOutputs(pre, totalIn, ctx); //                  7
  const fee = computeFee(
    pre.tx,
    inputs.map((f) => f.witnessScript.length),
    totalIn,
    outs.totalOut,
  ); // 8
  const jobs = sighashes(pre, inputs); //                           9
  const summary: TxSummary = Object.freeze({
    walletId: ctx.wallet.id.slice(),
    txid: pre.tx.txid.slice(),
    version: pre.tx.version,
    locktime: pre.tx.locktime,
    inputs: Object.freeze(inputs.map((f) => f.verified)),
    outputs: outs.outputs,
    totalIn,
    totalOut: outs.totalOut,
    totalExternal: outs.totalExternal,
    fee: fee.fee,
    vsize: fee.vsize,
    feerateMsatPerVb: fee.feerateMsatPerVb,
  });
  return Object.freeze({ summary, jobs: Object.freeze(jobs) });
}
