import { verifyInputSignature } from '@keyline/signer-device/wallet';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { SigHash, Transaction } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { buildPsbt } from '../../src/vault/build-psbt.js';
import { selectCoins } from '../../src/vault/coin-selection.js';
import {
  type DeviceReply,
  FINALIZE_REASONS,
  finalizeTransaction,
  verifyDeviceReply,
} from '../../src/vault/finalize.js';
import { buildWallet, deriveAddress } from '../../src/vault/wallet.js';
import {
  COSIGNERS,
  cosigner,
  DEST,
  fund,
  payment,
  STRANGER,
  signDigest,
  type TestCosigner,
  thrown,
  WALLET,
} from './fixtures.js';

const funded = fund(
  [
    { branch: 0, index: 1, amount: 400_000n },
    { branch: 0, index: 2, amount: 500_000n },
    { branch: 1, index: 3, amount: 600_000n },
  ],
  'finalize',
);
const PLAN = selectCoins({
  utxos: funded.utxos,
  withdrawals: [payment('w-1', 1_000_000n, DEST.p2pkh), payment('w-2', 200_000n, DEST.p2sh)],
  feerateSatPerKvB: 3_000n,
  tipHeight: 200,
});
const BUILT = buildPsbt({
  wallet: WALLET,
  plan: PLAN,
  changeIndex: 4,
  prevTxs: new Map([[funded.txid, funded.raw]]),
});
const TX = Transaction.fromPSBT(BUILT.psbt);

/** BIP143 digests computed by btc-signer (independent of the code under test). */
function digest(i: number, amountDelta = 0n): Uint8Array {
  const u = PLAN.inputs[i];
  if (u === undefined) throw new Error('input');
  return TX.preimageWitnessV0(
    i,
    deriveAddress(WALLET, u.branch, u.index).witnessScript,
    SigHash.ALL,
    u.value + amountDelta,
  );
}

type Sig = { input: number; pubkey: Uint8Array; signature: Uint8Array };
function signAll(c: TestCosigner): Sig[] {
  return PLAN.inputs.map((u, i) => ({ input: i, ...signDigest(c, u.branch, u.index, digest(i)) }));
}
/** Cosigner `c`'s signature of input `i`'s digest (over the amount + `delta`). */
function sigBy(c: TestCosigner, i: number, delta = 0n) {
  const u = PLAN.inputs[i];
  if (u === undefined) throw new Error('input');
  return signDigest(c, u.branch, u.index, digest(i, delta));
}
const reply = (deviceId: string, signatures: unknown): DeviceReply => ({ deviceId, signatures });
const A = () => reply('signer-a', signAll(COSIGNERS[0] as TestCosigner));
const C = () => reply('signer-c', signAll(COSIGNERS[2] as TestCosigner));

function refusal(replies: DeviceReply[], psbt = BUILT.psbt) {
  const e = thrown(() => finalizeTransaction(WALLET, psbt, replies));
  expect(e.code).toBe('BAD_REQUEST');
  return e.detail ?? {};
}

/** Replace input `i`'s signature of a reply with `edit(sig)`. */
function edited(r: DeviceReply, i: number, edit: (s: Sig) => Sig | Sig[] | null): DeviceReply {
  const sigs = (r.signatures as Sig[]).flatMap((s) => {
    if (s.input !== i) return [s];
    const out = edit(s);
    return out === null ? [] : Array.isArray(out) ? out : [out];
  });
  return reply(r.deviceId, sigs);
}

const N = secp256k1.Point.CURVE().n;
function highS(sig: Uint8Array): Uint8Array {
  const s = secp256k1.Signature.fromBytes(sig.subarray(0, -1), 'der');
  return Uint8Array.from([...new secp256k1.Signature(s.r, N - s.s).toBytes('der'), 0x01]);
}

describe('finalize: combine two devices', () => {
  it('verifies, combines in script key order, finalizes and extracts a transaction whose signatures verify', () => {
    const final = finalizeTransaction(WALLET, BUILT.psbt, [C(), A()]);
    expect(final.txid).toBe(BUILT.summary.txid);
    expect(final.fee).toBe(PLAN.fee);
    expect(final.vsize).toBeLessThanOrEqual(PLAN.vsize);
    expect(PLAN.vsize - final.vsize).toBeLessThanOrEqual(PLAN.inputs.length);
    const signed = Transaction.fromRaw(final.raw);
    expect(signed.id).toBe(final.txid);
    PLAN.inputs.forEach((u, i) => {
      const addr = deriveAddress(WALLET, u.branch, u.index);
      const witness = signed.getInput(i).finalScriptWitness ?? [];
      expect(witness).toHaveLength(4);
      expect(witness[0]).toEqual(new Uint8Array(0));
      expect(witness[3]).toEqual(addr.witnessScript);
      // Signatures in the order of their keys in the script (CHECKMULTISIG needs it).
      const signers = [COSIGNERS[0], COSIGNERS[2]].map(
        (c) => c?.account.deriveChild(u.branch).deriveChild(u.index).publicKey as Uint8Array,
      );
      const order = signers
        .map((pk) => addr.pubkeys.findIndex((k) => k.every((b, j) => b === pk[j])))
        .sort();
      [1, 2].forEach((w, n) => {
        const pk = addr.pubkeys[order[n] as number] as Uint8Array;
        expect(verifyInputSignature(pk, digest(i), witness[w] as Uint8Array)).toBe(true);
      });
      expect(final.signers[i]?.slice().sort()).toEqual(['signer-a', 'signer-c']);
    });
  });

  it('checks one device at a time, naming the key it signed with', () => {
    expect(verifyDeviceReply(WALLET, BUILT.psbt, A()).keyIndex).toBe(0);
    expect(verifyDeviceReply(WALLET, BUILT.psbt, C()).keyIndex).toBe(2);
    const e = thrown(() =>
      verifyDeviceReply(
        WALLET,
        BUILT.psbt,
        edited(A(), 1, () => null),
      ),
    );
    expect(e.detail).toMatchObject({
      reason: FINALIZE_REASONS.MISSING_INPUT,
      device: 'signer-a',
      input: 1,
    });
  });
});

describe('finalize: every bad signature is refused, naming the device and the input', () => {
  const cases: [string, () => DeviceReply, string, number | undefined][] = [
    [
      'a key from outside the wallet',
      () => edited(A(), 1, (s) => ({ ...s, ...sigBy(STRANGER, 1) })),
      FINALIZE_REASONS.FOREIGN_KEY,
      1,
    ],
    [
      'a sighash type other than ALL',
      () =>
        edited(A(), 2, (s) => ({
          ...s,
          signature: Uint8Array.from([...s.signature.slice(0, -1), 0x83]),
        })),
      FINALIZE_REASONS.WRONG_SIGHASH,
      2,
    ],
    [
      'a high-S (malleated) signature',
      () => edited(A(), 0, (s) => ({ ...s, signature: highS(s.signature) })),
      FINALIZE_REASONS.HIGH_S,
      0,
    ],
    [
      'a non-DER signature',
      () => edited(A(), 1, (s) => ({ ...s, signature: new Uint8Array(70).fill(0x30) })),
      FINALIZE_REASONS.NOT_DER,
      1,
    ],
    [
      'a signature over another amount (SegWit fee attack)',
      () => edited(A(), 0, (s) => ({ ...s, ...sigBy(COSIGNERS[0] as TestCosigner, 0, 1n) })),
      FINALIZE_REASONS.INVALID_SIGNATURE,
      0,
    ],
    [
      "another input's signature",
      () =>
        edited(A(), 1, (s) => ({
          ...s,
          signature: (A().signatures as Sig[])[0]?.signature as Uint8Array,
        })),
      FINALIZE_REASONS.INVALID_SIGNATURE,
      1,
    ],
    ['a missing input', () => edited(A(), 2, () => null), FINALIZE_REASONS.MISSING_INPUT, 2],
    [
      'an input signed twice',
      () => edited(A(), 0, (s) => [s, s]),
      FINALIZE_REASONS.DUPLICATE_INPUT,
      0,
    ],
    [
      'an input the transaction does not have',
      () => edited(A(), 0, (s) => [s, { ...s, input: 3 }]),
      FINALIZE_REASONS.INPUT_OUT_OF_RANGE,
      3,
    ],
    [
      'signatures by two different wallet keys',
      () => edited(A(), 1, (s) => ({ ...s, ...sigBy(COSIGNERS[1] as TestCosigner, 1) })),
      FINALIZE_REASONS.MIXED_KEYS,
      1,
    ],
  ];
  for (const [what, make, reason, input] of cases) {
    it(`refuses ${what}`, () => {
      const d = refusal([make(), C()]);
      expect(d).toMatchObject({ reason, device: 'signer-a', input });
      // The same fault from the second device is named too.
      const other = make();
      const d2 = refusal([C(), reply('signer-b', other.signatures)]);
      expect(d2).toMatchObject({ reason, device: 'signer-b' });
    });
  }

  it('refuses two devices signing with the same key, or one device twice', () => {
    const dup = refusal([A(), reply('signer-b', A().signatures)]);
    expect(dup).toMatchObject({ reason: FINALIZE_REASONS.DUPLICATE_KEY, device: 'signer-b' });
    expect(refusal([A(), reply('signer-a', C().signatures)]).reason).toBe(
      FINALIZE_REASONS.DEVICE_COUNT,
    );
    expect(refusal([A()]).reason).toBe(FINALIZE_REASONS.DEVICE_COUNT);
    expect(refusal([A(), C(), reply('signer-b', [])]).reason).toBe(FINALIZE_REASONS.DEVICE_COUNT);
    expect(refusal([A(), reply('', C().signatures)]).reason).toBe(FINALIZE_REASONS.DEVICE_COUNT);
  });

  it('refuses a reply that does not match the wire schema', () => {
    const sig0 = (A().signatures as Sig[])[0] as Sig;
    for (const bad of [
      null,
      'signatures',
      [{ ...sig0, pubkey: sig0.pubkey.slice(1) }],
      [{ ...sig0, signature: Buffer.from(sig0.signature).toString('hex') }],
      [{ ...sig0, input: -1 }],
      [{ ...sig0, extra: 1 }],
    ]) {
      expect(refusal([reply('signer-a', bad), C()])).toMatchObject({
        reason: FINALIZE_REASONS.BAD_REPLY,
        device: 'signer-a',
      });
    }
  });

  it("refuses a PSBT that is not this wallet's, or not a PSBT", () => {
    const other = buildWallet(
      [cosigner(11), cosigner(12), cosigner(13)].map((c) => c.enrolled),
      'regtest',
    );
    expect(refusal([A(), C()], BUILT.psbt.slice(0, 40)).reason).toBe(FINALIZE_REASONS.BAD_PSBT);
    const e = thrown(() => finalizeTransaction(other, BUILT.psbt, [A(), C()]));
    expect(e.detail?.reason).toBe(FINALIZE_REASONS.BAD_PSBT);
  });
});
