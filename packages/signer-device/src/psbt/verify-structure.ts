/**
 * Step 4 of verify-psbt: the transaction's own rules (version, locktime, sequences) and the PSBT
 * fields the device refuses to see. Pure.
 */
import { LOCKTIME_THRESHOLD, MIN_SEQUENCE, type TxRules } from './limits.js';
import { badPsbt, type PrescannedPsbt, type RawMap } from './parse-psbt.js';
import { refuse, VERIFY_REASONS } from './verify-reasons.js';

/** Per-input fields of PSBT version 2 only (BIP370): malformed in a version 0 PSBT. */
const INPUT_V2_ONLY = Object.freeze([0x0e, 0x0f, 0x10, 0x11, 0x12]);
const OUTPUT_V2_ONLY = Object.freeze([0x03, 0x04]);

/**
 * Per-input fields refused: a redeem script (our inputs are native P2WSH), a finalized scriptSig or
 * witness (the device signs, it does not accept someone's final answer), Taproot fields (not ours).
 */
export const REFUSED_INPUT_FIELDS: Readonly<Record<number, string>> = Object.freeze({
  4: 'PSBT_IN_REDEEM_SCRIPT',
  7: 'PSBT_IN_FINAL_SCRIPTSIG',
  8: 'PSBT_IN_FINAL_SCRIPTWITNESS',
  19: 'PSBT_IN_TAP_KEY_SIG',
  20: 'PSBT_IN_TAP_SCRIPT_SIG',
  21: 'PSBT_IN_TAP_LEAF_SCRIPT',
  22: 'PSBT_IN_TAP_BIP32_DERIVATION',
  23: 'PSBT_IN_TAP_INTERNAL_KEY',
  24: 'PSBT_IN_TAP_MERKLE_ROOT',
});
export const REFUSED_OUTPUT_FIELDS: Readonly<Record<number, string>> = Object.freeze({
  0: 'PSBT_OUT_REDEEM_SCRIPT',
  5: 'PSBT_OUT_TAP_INTERNAL_KEY',
  6: 'PSBT_OUT_TAP_TREE',
  7: 'PSBT_OUT_TAP_BIP32_DERIVATION',
});

function checkFields(
  maps: readonly RawMap[],
  kind: 'input' | 'output',
  v2Only: readonly number[],
  refused: Readonly<Record<number, string>>,
): void {
  maps.forEach((map, i) => {
    for (const e of map) {
      if (v2Only.includes(e.keyType)) {
        throw badPsbt(
          `${kind} ${i}`,
          `expected no PSBTv2 field in a version 0 PSBT, got key type 0x${e.keyType.toString(16)}`,
          VERIFY_REASONS.BAD_FIELD,
          { [kind]: i, keyType: e.keyType },
        );
      }
      const name = refused[e.keyType];
      if (name !== undefined) {
        throw refuse(
          `${kind} ${i}`,
          `expected no ${name} field, got one`,
          VERIFY_REASONS.FIELD_NOT_ALLOWED,
          { [kind]: i, keyType: e.keyType },
        );
      }
    }
  });
}

export function checkStructure(pre: PrescannedPsbt, rules: TxRules): void {
  const { tx } = pre;
  if (!rules.allowedVersions.includes(tx.version)) {
    throw refuse(
      'structure',
      `expected a transaction version in [${rules.allowedVersions.join(', ')}], got ${tx.version}`,
      VERIFY_REASONS.VERSION_NOT_ALLOWED,
    );
  }
  if (tx.locktime >= LOCKTIME_THRESHOLD) {
    throw refuse(
      'structure',
      `expected a block-height locktime, got the time-based locktime ${tx.locktime}`,
      VERIFY_REASONS.LOCKTIME_NOT_ALLOWED,
    );
  }
  if (tx.locktime > rules.maxLocktime) {
    throw refuse(
      'structure',
      `expected a locktime at most ${rules.maxLocktime}, got ${tx.locktime}`,
      VERIFY_REASONS.LOCKTIME_NOT_ALLOWED,
    );
  }
  tx.inputs.forEach((inp, i) => {
    if (inp.sequence < MIN_SEQUENCE) {
      throw refuse(
        `input ${i}`,
        `expected a sequence of at least 0x${MIN_SEQUENCE.toString(16)} (no relative locktime), got 0x${inp.sequence.toString(16)}`,
        VERIFY_REASONS.SEQUENCE_NOT_ALLOWED,
        { input: i },
      );
    }
  });
  checkFields(pre.inputs, 'input', INPUT_V2_ONLY, REFUSED_INPUT_FIELDS);
  checkFields(pre.outputs, 'output', OUTPUT_V2_ONLY, REFUSED_OUTPUT_FIELDS);
}
