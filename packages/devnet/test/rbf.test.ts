import { describe, expect, it } from 'vitest';
import { formatMoney } from '../src/consensus/amount.js';
import { feeRateOf, feeRateToString } from '../src/policy/feerate.js';
import {
  fund,
  fundedNode,
  key,
  p2wpkhScript,
  rejectReason,
  spendP2wpkh,
  type Utxo,
} from './helpers/chain.js';

const k = key('rbf-owner');
const own = p2wpkhScript(k.publicKey);
const payee = p2wpkhScript(key('rbf-payee').publicKey);
const other = p2wpkhScript(key('rbf-other').publicKey);

function setup(options: { fullRbf?: boolean } = {}) {
  const node = fundedNode(options);
  const utxo = fund(node, own, 1_000_000n);
  return { node, utxo };
}

const pay = (utxos: Utxo[], value: bigint, script = payee, sequence = 0xfffffffd) =>
  spendP2wpkh(k, utxos, [{ value, script }], sequence);

describe('BIP125 replacement', () => {
  it('accepts a replacement paying a higher fee and fee rate and evicts the original and its child', () => {
    const { node, utxo } = setup();
    const original = pay([utxo], 990_000n);
    node.submit(original.raw);
    const child = spendP2wpkh(
      key('rbf-payee'),
      [{ txid: original.txid, vout: 0, value: 990_000n, script: payee }],
      [{ value: 980_000n, script: other }],
    );
    node.submit(child.raw);
    const replacement = pay([utxo], 970_000n, other);
    expect(node.submit(replacement.raw)).toBe(replacement.txid);
    expect(node.mempoolTxids()).toEqual([replacement.txid]);
  });

  it('refuses a replacement with the same fee rate (rule 6)', () => {
    const { node, utxo } = setup();
    const original = pay([utxo], 990_000n);
    node.submit(original.raw);
    const replacement = pay([utxo], 990_000n, other);
    const r = rejectReason(() => node.submit(replacement.raw));
    // 10 000 sat over the same size both times, printed as CFeeRate::ToString does (e.g. 0.00090909 BTC/kvB at 110 vB).
    const oldRate = feeRateToString(feeRateOf(10_000n, original.vsize));
    const newRate = feeRateToString(feeRateOf(10_000n, replacement.vsize));
    expect(oldRate).toMatch(/^0\.000\d{5} BTC\/kvB$/);
    expect(r.reason).toBe(
      `insufficient fee, rejecting replacement ${replacement.txid}; new feerate ${newRate} <= old feerate ${oldRate}`,
    );
    expect(r.rpcCode).toBe(-26);
    expect(node.mempoolTxids()).toEqual([original.txid]);
  });

  it('refuses a replacement that adds less than its own size at the incremental relay fee (rule 4)', () => {
    const { node, utxo } = setup();
    const original = pay([utxo], 990_000n);
    node.submit(original.raw);
    const replacement = pay([utxo], 989_990n, other);
    // 10 sat more than the original, its size in sat needed (1 sat/vB); FormatMoney trims zeros.
    expect(replacement.vsize).toBeGreaterThan(100);
    expect(rejectReason(() => node.submit(replacement.raw)).reason).toBe(
      `insufficient fee, rejecting replacement ${replacement.txid}, not enough additional fees to relay; 0.0000001 < ${formatMoney(BigInt(replacement.vsize))}`,
    );
  });

  it('refuses a replacement paying less absolute fee than what it evicts (rule 3)', () => {
    const { node, utxo } = setup();
    const original = pay([utxo], 990_000n);
    node.submit(original.raw);
    const child = spendP2wpkh(
      key('rbf-payee'),
      [{ txid: original.txid, vout: 0, value: 990_000n, script: payee }],
      [{ value: 900_000n, script: other }],
    );
    node.submit(child.raw);
    const replacement = pay([utxo], 980_000n, other);
    // 20 000 sat offered against 10 000 + 90 000 evicted.
    expect(rejectReason(() => node.submit(replacement.raw)).reason).toBe(
      `insufficient fee, rejecting replacement ${replacement.txid}, less fees than conflicting txs; 0.0002 < 0.001`,
    );
  });

  it('refuses a replacement that adds an unconfirmed input (rule 2)', () => {
    const { node, utxo } = setup();
    const original = pay([utxo], 990_000n);
    node.submit(original.raw);
    const second = fund(node, own, 500_000n, false);
    const replacement = pay([utxo, second], 1_400_000n, other);
    expect(rejectReason(() => node.submit(replacement.raw)).reason).toBe(
      `replacement-adds-unconfirmed, replacement ${replacement.txid} adds unconfirmed input, idx 1`,
    );
  });

  it('refuses a transaction spending the output of the transaction it replaces', () => {
    const { node, utxo } = setup();
    const original = pay([utxo], 990_000n, own);
    node.submit(original.raw);
    const bad = pay(
      [utxo, { txid: original.txid, vout: 0, value: 990_000n, script: own }],
      1_900_000n,
      other,
    );
    expect(rejectReason(() => node.submit(bad.raw)).reason).toBe(
      `bad-txns-spends-conflicting-tx, ${bad.txid} spends conflicting transaction ${original.txid}`,
    );
  });

  it('replaces a non-signalling transaction only with fullRbf (Core v28 -mempoolfullrbf)', () => {
    const { node, utxo } = setup({ fullRbf: true });
    const original = pay([utxo], 990_000n, payee, 0xffffffff);
    node.submit(original.raw);
    const replacement = pay([utxo], 970_000n, other, 0xffffffff);
    expect(node.submit(replacement.raw)).toBe(replacement.txid);
    expect(node.mempoolTxids()).toEqual([replacement.txid]);
  });
});
