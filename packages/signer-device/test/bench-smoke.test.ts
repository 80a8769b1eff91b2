/**
 * Keeps the benchmark honest: its PSBT builder and its composed device path run once on a
 * 2-input request, every device signature verifies, and the lean references sign the very same
 * digests with the same (RFC 6979) signatures. No timing is asserted.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshVerifyContext, makeBenchWallet } from '../bench/bench-wallet.js';
import {
  type BenchState,
  closeBenchState,
  DEVICE_STEPS,
  openBenchState,
  runDevicePath,
} from '../bench/device-path.js';
import { LeanKeyring, leanSign, nobleSign, tinySign } from '../bench/lean.js';
import { buildBenchRequest } from '../bench/psbt-builder.js';
import { isSignerError } from '../src/errors.js';
import { verifyInputSignature } from '../src/psbt/signature.js';
import { verifyPsbt } from '../src/psbt/verify-psbt.js';

const wallet = makeBenchWallet();
const request = buildBenchRequest(wallet, 2);
let state: BenchState;

beforeAll(async () => {
  state = await openBenchState();
});
afterAll(async () => {
  await closeBenchState(state);
  wallet.device.lock();
});

describe('bench: PSBT builder + device path', () => {
  it('builds a PSBT the device verifies, with 2 inputs, 3 external outputs and change', () => {
    const v = verifyPsbt(request.psbt, freshVerifyContext(wallet));
    expect(v.jobs.map((j) => j.inputIndex)).toEqual([0, 1]);
    expect(v.summary.outputs.map((o) => o.kind)).toEqual([
      'external',
      'external',
      'external',
      'change',
    ]);
    expect(v.summary.fee).toBe(4_200n);
  });

  it('signs every input through the whole path, and each signature verifies', async () => {
    const run = await runDevicePath(wallet, freshVerifyContext(wallet), request, state);
    expect(run.signatures).toHaveLength(2);
    for (const s of run.signatures) {
      expect(verifyInputSignature(s.pubkey, s.digest, s.signature)).toBe(true);
    }
    expect(Object.keys(run.stepMs)).toEqual([...DEVICE_STEPS]);
    expect(state.store.generation).toBe(1);
    expect(state.log.head.kind).toBe('signature');

    const keys = LeanKeyring.derive(2);
    try {
      const noble = leanSign(request.tx, request.lean, keys, nobleSign);
      const tiny = leanSign(request.tx, request.lean, keys, tinySign);
      run.signatures.forEach((s, i) => {
        const compact = secp256k1.Signature.fromBytes(s.signature.subarray(0, -1), 'der').toBytes(
          'compact',
        );
        expect(noble[i]).toEqual(compact);
        expect(tiny[i]).toEqual(compact);
      });
    } finally {
      keys.wipe();
    }
  });

  it('refuses (and signs nothing) when an intent is missing: the bench path cannot skip the policy', async () => {
    const fresh = await openBenchState();
    try {
      const req = { psbt: request.psbt, intents: request.intents.slice(1) };
      const err = await runDevicePath(wallet, freshVerifyContext(wallet), req, fresh).catch(
        (e: unknown) => e,
      );
      expect(isSignerError(err, 'POLICY_REFUSED')).toBe(true);
      expect(fresh.store.generation).toBe(0);
    } finally {
      await closeBenchState(fresh);
    }
  });
});
