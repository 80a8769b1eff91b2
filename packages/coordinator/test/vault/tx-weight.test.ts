import { RawTx } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import {
  CHANGE_OUTPUT_WEIGHT,
  feeFor,
  INPUT_WEIGHT,
  MAX_SIGNATURE_BYTES,
  outputWeight,
  txWeight,
  vsizeOf,
  WITNESS_SCRIPT_BYTES,
} from '../../src/vault/tx-weight.js';
import { DEST } from './fixtures.js';

/** BIP141 weight of a serialized transaction: 3 × stripped size + total size. */
function measured(inputs: number, scripts: readonly Uint8Array[], sigBytes: number): number {
  const tx = {
    version: 2,
    inputs: Array.from({ length: inputs }, (_, i) => ({
      txid: new Uint8Array(32).fill(i % 256),
      index: i,
      finalScriptSig: new Uint8Array(0),
      sequence: 0xfffffffd,
    })),
    outputs: scripts.map((script) => ({ script, amount: 1_000n })),
    lockTime: 0,
  };
  const witness = () => [
    new Uint8Array(0),
    new Uint8Array(sigBytes),
    new Uint8Array(sigBytes),
    new Uint8Array(WITNESS_SCRIPT_BYTES),
  ];
  const full = RawTx.encode({ ...tx, segwitFlag: true, witnesses: tx.inputs.map(witness) });
  const stripped = RawTx.encode({ ...tx, segwitFlag: false, witnesses: undefined });
  return 3 * stripped.length + full.length;
}

describe('tx-weight', () => {
  it('states the per-input and change-output weights', () => {
    expect(MAX_SIGNATURE_BYTES).toBe(73);
    expect(INPUT_WEIGHT).toBe(420); // 105 vB
    expect(CHANGE_OUTPUT_WEIGHT).toBe(172); // 43 vB
  });

  it('equals the weight of the serialized transaction with 73-byte signatures, across compact-size steps', () => {
    const kinds = [DEST.p2wpkh, DEST.p2tr, DEST.p2pkh, DEST.p2sh, DEST.p2wsh];
    for (const inputs of [1, 2, 252, 253, 254]) {
      for (const outputs of [1, 3, 252, 253]) {
        const scripts = Array.from(
          { length: outputs },
          (_, i) => kinds[i % kinds.length] as Uint8Array,
        );
        const w = txWeight(
          inputs,
          outputs,
          scripts.reduce((a, s) => a + outputWeight(s.length), 0),
        );
        expect(w).toBe(measured(inputs, scripts, 73));
        // Shorter (real, low-S) signatures only make it smaller: an upper bound.
        expect(measured(inputs, scripts, 71)).toBeLessThan(w);
      }
    }
  });

  it('rounds vsize and fee up', () => {
    expect(vsizeOf(421)).toBe(106);
    expect(vsizeOf(420)).toBe(105);
    expect(feeFor(105, 1_000n)).toBe(105n);
    expect(feeFor(105, 1_001n)).toBe(106n);
    expect(feeFor(1, 1n)).toBe(1n);
  });
});
