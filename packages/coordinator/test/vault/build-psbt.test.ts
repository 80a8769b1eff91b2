import { parseTx } from '@keyline/signer-device/wallet';
import { base64 } from '@scure/base';
import { Transaction } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { buildPsbt, RBF_SEQUENCE } from '../../src/vault/build-psbt.js';
import { selectCoins } from '../../src/vault/coin-selection.js';
import type { TxPlan } from '../../src/vault/plan.js';
import { displayHex } from '../../src/vault/raw-tx.js';
import { deriveAddress } from '../../src/vault/wallet.js';
import { COSIGNERS, DEST, fund, payment, thrown, WALLET } from './fixtures.js';

/**
 * The device's own verification, loaded from its source (a variable specifier keeps signer-device
 * sources out of this package's tsc program; see test/risk/intent.test.ts).
 */
const DEVICE = '../../../signer-device/src/psbt/';
interface DeviceSummary {
  fee: bigint;
  vsize: number;
  totalIn: bigint;
  totalExternal: bigint;
  txid: Uint8Array;
  outputs: { index: number; kind: 'change' | 'external'; amount: bigint; addressIndex?: number }[];
  inputs: { branch: number; addressIndex: number; amount: bigint }[];
}
const verify = (await import(/* @vite-ignore */ `${DEVICE}verify-psbt.js`)) as {
  verifyPsbt(psbt: Uint8Array, ctx: unknown): { summary: DeviceSummary; jobs: unknown[] };
};
const descriptor = (await import(/* @vite-ignore */ `${DEVICE}descriptor.js`)) as {
  parseDescriptor(text: string, network: string): unknown;
};
const limits = (await import(/* @vite-ignore */ `${DEVICE}limits.js`)) as {
  DEFAULT_PSBT_LIMITS: unknown;
  DEFAULT_TX_RULES: {
    maxLocktime: number;
    allowedVersions: readonly number[];
    dustLimitSat: bigint;
  };
};

function deviceVerify(psbt: Uint8Array, ownKeyIndex: number) {
  return verify.verifyPsbt(psbt, {
    wallet: descriptor.parseDescriptor(WALLET.descriptor, 'regtest'),
    network: 'regtest',
    ownKeyIndex,
    changeWindow: { from: 0, size: 100 },
    limits: limits.DEFAULT_PSBT_LIMITS,
    txRules: limits.DEFAULT_TX_RULES,
  });
}

const TIP = 200;
const deposits = fund(
  [
    { branch: 0, index: 3, amount: 700_000n },
    { branch: 0, index: 4, amount: 900_000n },
  ],
  'deposits',
);
const change = fund([{ branch: 1, index: 0, amount: 650_000n }], 'own change');
const PREV = new Map([
  [deposits.txid, deposits.raw],
  [change.txid, change.raw],
]);
const UTXOS = [...deposits.utxos, ...change.utxos];

function plan(): TxPlan {
  return selectCoins({
    utxos: UTXOS,
    withdrawals: [payment('w-1', 1_500_000n, DEST.p2wpkh), payment('w-2', 300_000n, DEST.p2tr)],
    feerateSatPerKvB: 2_000n,
    tipHeight: TIP,
  });
}

describe('build-psbt', () => {
  it('carries everything the devices verify, read back with btc-signer and the device parser', () => {
    const p = plan();
    expect(p.inputs).toHaveLength(3);
    expect(p.change).not.toBeNull();
    const built = buildPsbt({ wallet: WALLET, plan: p, changeIndex: 7, prevTxs: PREV });
    expect(base64.decode(built.base64)).toEqual(built.psbt);

    const tx = Transaction.fromPSBT(built.psbt);
    expect(tx.version).toBe(2);
    expect(tx.lockTime).toBe(0);
    expect(tx.inputsLength).toBe(3);
    p.inputs.forEach((u, i) => {
      const input = tx.getInput(i);
      const addr = deriveAddress(WALLET, u.branch, u.index);
      expect(input.sequence).toBe(RBF_SEQUENCE);
      expect(input.witnessUtxo).toEqual({ script: u.script, amount: u.value });
      expect(input.witnessScript).toEqual(addr.witnessScript);
      expect(input.nonWitnessUtxo).toBeDefined();
      const paths = (input.bip32Derivation ?? []).map(([pk, d]) => [pk, d.fingerprint, d.path]);
      expect(paths).toHaveLength(3);
      for (const c of COSIGNERS) {
        const pk = c.account.deriveChild(u.branch).deriveChild(u.index).publicKey;
        expect(paths).toContainEqual([
          pk,
          c.master.fingerprint,
          [0x80000030, 0x80000001, 0x80000000, 0x80000002, u.branch, u.index],
        ]);
      }
    });
    // Outputs: payments in order, then the change with its witness script and three derivations.
    expect(tx.outputsLength).toBe(3);
    expect(tx.getOutput(0)).toMatchObject({ script: DEST.p2wpkh, amount: 1_500_000n });
    expect(tx.getOutput(1)).toMatchObject({ script: DEST.p2tr, amount: 300_000n });
    const ch = tx.getOutput(2);
    const changeAddr = deriveAddress(WALLET, 1, 7);
    expect(ch.script).toEqual(changeAddr.script);
    expect(ch.amount).toBe(p.change);
    expect(ch.witnessScript).toEqual(changeAddr.witnessScript);
    expect((ch.bip32Derivation ?? []).map(([, d]) => d.path[5])).toEqual([7, 7, 7]);
    // The device's parser reads the same unsigned transaction; the txid is the summary's.
    const unsigned = parseTx(tx.unsignedTx, 'test', {
      maxInputs: 10,
      maxOutputs: 10,
      maxScriptBytes: 10_000,
      tooManyInputs: 'TOO_MANY_INPUTS',
      tooManyOutputs: 'TOO_MANY_OUTPUTS',
    });
    expect(displayHex(unsigned.txid)).toBe(built.summary.txid);
    expect(unsigned.inputs.map((x) => [displayHex(x.txid), x.vout, x.sequence])).toEqual(
      p.inputs.map((u) => [u.txid, u.vout, RBF_SEQUENCE]),
    );
    expect(built.summary.outputs.map((o) => o.kind)).toEqual(['payment', 'payment', 'change']);
    expect(built.summary.fee).toBe(p.fee);
    expect(built.summary.feerateSatPerKvB >= 2_000n).toBe(true);
  });

  it("encodes the same bytes as btc-signer's Transaction class would", () => {
    const p = plan();
    const built = buildPsbt({
      wallet: WALLET,
      plan: p,
      changeIndex: 7,
      prevTxs: PREV,
      locktime: 9,
    });
    const tx = new Transaction({ version: 2, lockTime: 9 });
    for (const u of p.inputs) {
      const a = deriveAddress(WALLET, u.branch, u.index);
      tx.addInput({
        txid: u.txid,
        index: u.vout,
        sequence: RBF_SEQUENCE,
        nonWitnessUtxo: PREV.get(u.txid),
        witnessUtxo: { script: u.script, amount: u.value },
        witnessScript: a.witnessScript,
        bip32Derivation: a.derivations.map((d) => [
          d.pubkey,
          { fingerprint: d.fingerprint, path: [...d.path] },
        ]),
      });
    }
    for (const q of p.payments) tx.addOutput({ script: q.scriptPubKey, amount: q.amount });
    const c = deriveAddress(WALLET, 1, 7);
    tx.addOutput({
      script: c.script,
      amount: p.change ?? 0n,
      witnessScript: c.witnessScript,
      bip32Derivation: c.derivations.map((d) => [
        d.pubkey,
        { fingerprint: d.fingerprint, path: [...d.path] },
      ]),
    });
    expect(built.psbt).toEqual(tx.toPSBT(0));
    expect(built.summary.txid).toBe(tx.id);
  });

  it("passes every device's own verification: amounts proven, change recognised, same fee", () => {
    const p = plan();
    const built = buildPsbt({ wallet: WALLET, plan: p, changeIndex: 7, prevTxs: PREV });
    for (const own of [0, 1, 2]) {
      const { summary, jobs } = deviceVerify(built.psbt, own);
      expect(jobs).toHaveLength(3);
      expect(summary.fee).toBe(p.fee);
      expect(summary.totalIn).toBe(p.totalIn);
      expect(summary.totalExternal).toBe(1_800_000n);
      expect(summary.outputs.map((o) => o.kind)).toEqual(['external', 'external', 'change']);
      expect(summary.outputs[2]?.addressIndex).toBe(7);
      expect(summary.inputs.map((i) => [i.branch, i.addressIndex])).toEqual(
        p.inputs.map((u) => [u.branch, u.index]),
      );
      expect(displayHex(summary.txid)).toBe(built.summary.txid);
      // Ours counts 73-byte signatures, the device 72: at most 0.5 vB more per input.
      expect(built.summary.vsize - summary.vsize).toBeGreaterThanOrEqual(0);
      expect(built.summary.vsize - summary.vsize).toBeLessThanOrEqual(
        Math.ceil(p.inputs.length / 2),
      );
    }
  });

  it('accepts a block-height locktime (anti fee sniping) the devices accept too', () => {
    const built = buildPsbt({
      wallet: WALLET,
      plan: plan(),
      changeIndex: 7,
      prevTxs: PREV,
      locktime: TIP,
    });
    expect(Transaction.fromPSBT(built.psbt).lockTime).toBe(TIP);
    expect(deviceVerify(built.psbt, 0).summary.fee).toBe(built.summary.fee);
    expect(
      thrown(() =>
        buildPsbt({
          wallet: WALLET,
          plan: plan(),
          changeIndex: 7,
          prevTxs: PREV,
          locktime: 500_000_000,
        }),
      ).code,
    ).toBe('BAD_REQUEST');
  });

  it('takes previous transactions from a provider function as well', () => {
    const built = buildPsbt({
      wallet: WALLET,
      plan: plan(),
      changeIndex: 7,
      prevTxs: (id) => PREV.get(id),
    });
    expect(built.summary.inputs).toHaveLength(3);
  });

  it('refuses a UTXO whose script is not the wallet script at its stated branch/index', () => {
    const p = plan();
    const liar = {
      ...p,
      inputs: p.inputs.map((u, i) => (i === 0 ? { ...u, index: u.index + 1 } : u)),
    };
    const e = thrown(() =>
      buildPsbt({ wallet: WALLET, plan: liar, changeIndex: 7, prevTxs: PREV }),
    );
    expect(e.code).toBe('BAD_REQUEST');
    expect(e.message).toMatch(/^vault\/build-psbt\/input 0: expected the UTXO script/);
  });

  it('refuses a missing, substituted or disagreeing previous transaction (SegWit fee attack)', () => {
    const p = plan();
    expect(
      thrown(() => buildPsbt({ wallet: WALLET, plan: p, changeIndex: 7, prevTxs: new Map() })).code,
    ).toBe('NOT_FOUND');
    const swapped = new Map([
      [deposits.txid, change.raw],
      [change.txid, change.raw],
    ]);
    expect(
      thrown(() => buildPsbt({ wallet: WALLET, plan: p, changeIndex: 7, prevTxs: swapped }))
        .message,
    ).toMatch(/hashing to/);
    // A plan claiming more for an input than its previous transaction holds.
    const inflated = {
      ...p,
      inputs: p.inputs.map((u, i) => (i === 0 ? { ...u, value: u.value + 1n } : u)),
      totalIn: p.totalIn + 1n,
      fee: p.fee + 1n,
    };
    expect(
      thrown(() => buildPsbt({ wallet: WALLET, plan: inflated, changeIndex: 7, prevTxs: PREV }))
        .message,
    ).toMatch(/expected output \d+ of [0-9a-f]{64} to be/);
  });

  it('refuses an inconsistent plan or change index', () => {
    const p = plan();
    const cases: [Partial<Parameters<typeof buildPsbt>[0]>, string][] = [
      [{ plan: { ...p, fee: p.fee + 1n } }, 'BAD_AMOUNT'],
      [{ plan: { ...p, weight: p.weight + 4 } }, 'BAD_REQUEST'],
      [{ changeIndex: null }, 'BAD_REQUEST'],
      [{ changeIndex: 2 ** 31 }, 'BAD_REQUEST'],
      [
        { plan: { ...p, inputs: [...p.inputs, p.inputs[0] as (typeof p.inputs)[number]] } },
        'BAD_REQUEST',
      ],
      [{ plan: { ...p, payments: [payment('x', 10n)] } }, 'BAD_AMOUNT'],
    ];
    for (const [over, code] of cases) {
      expect(
        thrown(() => buildPsbt({ wallet: WALLET, plan: p, changeIndex: 7, prevTxs: PREV, ...over }))
          .code,
      ).toBe(code);
    }
  });
});
