/**
 * Step 7 of verify-psbt: amounts, standard output types, dust, and which outputs are change.
 * An output is change ONLY if its scriptPubKey equals the descriptor's script at branch 1 and an
 * index inside the change window that its own BIP32 derivation (for our fingerprint) claims; the
 * claim is recomputed, never trusted. Anything else — foreign script, swapped cosigner, index
 * outside the window, our receive branch — is external, and so subject to the policy.
 */

import { equalBytes } from '@noble/ciphers/utils.js';
import type { VerifiedOutput } from '../tx-summary.js';
import { deriveScript, type WalletDescriptor } from './descriptor.js';
import { MAX_MONEY, MAX_OP_RETURN_BYTES, type TxRules } from './limits.js';
import type { PrescannedPsbt, RawMap, RawTxOutput } from './parse-psbt.js';
import { derivationsFor, splitPath } from './verify-inputs.js';
import { refuse, VERIFY_REASONS } from './verify-reasons.js';

export type OutputType = 'p2pkh' | 'p2sh' | 'p2wpkh' | 'p2wsh' | 'p2tr' | 'op_return';

const OP_RETURN = 0x6a;
const OUT_BIP32_DERIVATION = 0x02;

/** The standard type of a scriptPubKey, or undefined when it is none of them. */
export function outputType(s: Uint8Array): OutputType | undefined {
  const n = s.length;
  if (
    n === 25 &&
    s[0] === 0x76 &&
    s[1] === 0xa9 &&
    s[2] === 0x14 &&
    s[23] === 0x88 &&
    s[24] === 0xac
  )
    return 'p2pkh';
  if (n === 23 && s[0] === 0xa9 && s[1] === 0x14 && s[22] === 0x87) return 'p2sh';
  if (n === 22 && s[0] === 0x00 && s[1] === 0x14) return 'p2wpkh';
  if (n === 34 && s[0] === 0x00 && s[1] === 0x20) return 'p2wsh';
  if (n === 34 && s[0] === 0x51 && s[1] === 0x20) return 'p2tr';
  if (n >= 1 && n <= MAX_OP_RETURN_BYTES && s[0] === OP_RETURN) return 'op_return';
  return undefined;
}

export interface OutputContext {
  readonly wallet: WalletDescriptor;
  readonly ownKeyIndex: number;
  readonly changeWindow: { readonly from: number; readonly size: number };
  readonly txRules: TxRules;
}

export interface OutputFacts {
  readonly outputs: readonly VerifiedOutput[];
  readonly totalOut: bigint;
  readonly totalExternal: bigint;
}

/** The change index this output proves, or undefined (external). */
function changeIndex(
  map: RawMap,
  out: RawTxOutput,
  j: number,
  ctx: OutputContext,
): number | undefined {
  const key = ctx.wallet.keys[ctx.ownKeyIndex];
  if (key === undefined) return undefined;
  const claims = derivationsFor(map, OUT_BIP32_DERIVATION, key.fingerprint, `output ${j}`);
  if (claims.length !== 1 || claims[0] === undefined) return undefined;
  const split = splitPath(claims[0].path, key.originPath);
  if (typeof split === 'string' || split.branch !== 1) return undefined;
  const { from, size } = ctx.changeWindow;
  if (split.index < from || split.index >= from + size) return undefined;
  const derived = deriveScript(ctx.wallet, 1, split.index);
  return equalBytes(derived.scriptPubKey, out.script) ? split.index : undefined;
}

function checkAmount(out: RawTxOutput, j: number, rules: TxRules): void {
  const place = `output ${j}`;
  if (out.amount > MAX_MONEY) {
    throw refuse(
      place,
      `expected at most ${MAX_MONEY} sat, got ${out.amount}`,
      VERIFY_REASONS.AMOUNT_OVERFLOW,
      { output: j },
    );
  }
  const type = outputType(out.script);
  if (type === undefined) {
    throw refuse(
      place,
      `expected a standard output (P2PKH, P2SH, P2WPKH, P2WSH, P2TR, OP_RETURN <= ${MAX_OP_RETURN_BYTES} bytes), got a ${out.script.length}-byte script of another form`,
      VERIFY_REASONS.NONSTANDARD_OUTPUT,
      { output: j },
    );
  }
  if (type === 'op_return') {
    if (out.amount !== 0n) {
      throw refuse(
        place,
        `expected an OP_RETURN output of 0 sat, got ${out.amount}`,
        VERIFY_REASONS.OP_RETURN_WITH_VALUE,
        { output: j },
      );
    }
  } else if (out.amount < rules.dustLimitSat) {
    throw refuse(
      place,
      `expected at least ${rules.dustLimitSat} sat (dust limit), got ${out.amount}`,
      VERIFY_REASONS.DUST_OUTPUT,
      { output: j },
    );
  }
}

export function checkOutputs(
  pre: PrescannedPsbt,
  totalIn: bigint,
  ctx: OutputContext,
): OutputFacts {
  let totalOut = 0n;
  let totalExternal = 0n;
  const outputs = pre.tx.outputs.map((out, j): VerifiedOutput => {
    checkAmount(out, j, ctx.txRules);
    totalOut += out.amount;
    if (totalOut > MAX_MONEY) {
      throw refuse(
        `output ${j}`,
        `expected the running sum of outputs at most ${MAX_MONEY} sat, got ${totalOut}`,
        VERIFY_REASONS.AMOUNT_OVERFLOW,
        { output: j },
      );
    }
    const idx = changeIndex(pre.outputs[j] ?? [], out, j, ctx);
    const scriptPubKey = out.script.slice();
    if (idx !== undefined) {
      return Object.freeze({
        index: j,
        kind: 'change',
        scriptPubKey,
        amount: out.amount,
        addressIndex: idx,
      });
    }
    totalExternal += out.amount;
    return Object.freeze({ index: j, kind: 'external', scriptPubKey, amount: out.amount });
  });
  if (totalOut > totalIn) {
    throw refuse(
      'outputs',
      `expected outputs (${totalOut} sat) at most the inputs (${totalIn} sat)`,
      VERIFY_REASONS.OUTPUTS_EXCEED_INPUTS,
    );
  }
  return Object.freeze({ outputs: Object.freeze(outputs), totalOut, totalExternal });
}
