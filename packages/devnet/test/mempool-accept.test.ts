import { concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { makeTx } from '../src/consensus/tx.js';
import { SIGHASH } from '../src/script/signature-encoding.js';
import {
  fund,
  fundedNode,
  input,
  key,
  p2wpkhScript,
  rejectReason,
  signMultisigInput,
  sortedMultisig,
  spendMultisig,
  spendP2wpkh,
  unsigned,
  withWitnesses,
} from './helpers/chain.js';

const ms = sortedMultisig(2, [key('a'), key('b'), key('c')]);
const dest = p2wpkhScript(key('dest').publicKey);

function setup() {
  const node = fundedNode();
  const utxo = fund(node, ms.script, 1_000_000n);
  return { node, utxo };
}

describe('mempool acceptance: valid spends', () => {
  it('accepts a 2-of-3 P2WSH spend signed with tiny-secp256k1 over the btc-signer BIP143 digest', () => {
    const { node, utxo } = setup();
    const tx = spendMultisig(ms, [utxo], [{ value: 990_000n, script: dest }]);
    expect(node.submit(tx.raw)).toBe(tx.txid);
    expect(node.mempoolEntry(tx.txid)?.fee).toBe(10_000n);
  });

  it('accepts the spend signed by any two of the three keys, each in key order', () => {
    const { node, utxo } = setup();
    const [k0, k1, k2] = ms.keys as [(typeof ms.keys)[0], (typeof ms.keys)[0], (typeof ms.keys)[0]];
    for (const pair of [
      [k0, k1],
      [k0, k2],
      [k1, k2],
    ]) {
      const tx = spendMultisig(ms, [utxo], [{ value: 990_000n, script: dest }], pair);
      expect(node.testAccept([tx.raw])[0]?.allowed).toBe(true);
    }
  });

  it('accepts every sighash type Core takes on a P2WSH input (ALL, NONE, SINGLE, each with ANYONECANPAY)', () => {
    const { node, utxo } = setup();
    for (const type of [0x01, 0x02, 0x03, 0x81, 0x82, 0x83]) {
      const tx = spendMultisig(
        ms,
        [utxo],
        [{ value: 990_000n, script: dest }],
        ms.keys.slice(0, 2),
        type,
      );
      expect({ type, allowed: node.testAccept([tx.raw])[0]?.allowed }).toEqual({
        type,
        allowed: true,
      });
    }
  });

  it('accepts a P2WPKH spend of a faucet payment', () => {
    const node = fundedNode();
    const k = key('p2wpkh');
    const utxo = fund(node, p2wpkhScript(k.publicKey), 500_000n);
    const tx = spendP2wpkh(k, [utxo], [{ value: 490_000n, script: dest }]);
    expect(node.submit(tx.raw)).toBe(tx.txid);
  });

  it('returns the txid again for bytes already in the mempool (re-broadcast is idempotent)', () => {
    const { node, utxo } = setup();
    const tx = spendMultisig(ms, [utxo], [{ value: 990_000n, script: dest }]);
    expect(node.submit(tx.raw)).toBe(tx.txid);
    expect(node.submit(tx.raw)).toBe(tx.txid);
    expect(node.mempoolTxids()).toEqual([tx.txid]);
  });
});

describe('mempool acceptance: attacks and mistakes are refused with Core reasons', () => {
  it('refuses a bad signature (one flipped bit)', () => {
    const { node, utxo } = setup();
    const tx = spendMultisig(ms, [utxo], [{ value: 990_000n, script: dest }]);
    const witness = tx.inputs[0]?.witness.map((w) => Uint8Array.from(w)) ?? [];
    const sig = witness[1] as Uint8Array;
    sig[sig.length - 5] = (sig[sig.length - 5] as number) ^ 1;
    const bad = withWitnesses(tx, new Map([[0, witness]]));
    expect(rejectReason(() => node.submit(bad.raw))).toEqual({
      reason:
        'mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)',
      rpcCode: -26,
      code: 'TX_REJECTED',
    });
  });

  it('refuses a signature over a different amount (the SegWit fee attack)', () => {
    const { node, utxo } = setup();
    const tx = unsigned([input(utxo)], [{ value: 990_000n, script: dest }]);
    const sigs = signMultisigInput(tx, 0, ms, 2_000_000n, ms.keys.slice(0, 2));
    const bad = withWitnesses(tx, new Map([[0, [new Uint8Array(0), ...sigs, ms.witnessScript]]]));
    expect(rejectReason(() => node.submit(bad.raw)).reason).toBe(
      'mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)',
    );
  });

  it('refuses a missing signature: empty witness, one signature only, and an empty signature', () => {
    const { node, utxo } = setup();
    const tx = spendMultisig(ms, [utxo], [{ value: 990_000n, script: dest }]);
    const [dummy, s1] = tx.inputs[0]?.witness ?? [];
    expect(rejectReason(() => node.submit(withWitnesses(tx, new Map([[0, []]])).raw)).reason).toBe(
      'mandatory-script-verify-flag-failed (Witness program was passed an empty witness)',
    );
    const oneSig = withWitnesses(
      tx,
      new Map([[0, [dummy as Uint8Array, s1 as Uint8Array, ms.witnessScript]]]),
    );
    expect(rejectReason(() => node.submit(oneSig.raw)).reason).toBe(
      'mandatory-script-verify-flag-failed (Operation not valid with the current stack size)',
    );
    const noSigs = withWitnesses(
      tx,
      new Map([[0, [dummy as Uint8Array, new Uint8Array(0), new Uint8Array(0), ms.witnessScript]]]),
    );
    expect(rejectReason(() => node.submit(noSigs.raw)).reason).toBe(
      'mandatory-script-verify-flag-failed (Script evaluated without error but finished with a false/empty top stack element)',
    );
    const oneEmpty = withWitnesses(
      tx,
      new Map([[0, [dummy as Uint8Array, s1 as Uint8Array, new Uint8Array(0), ms.witnessScript]]]),
    );
    expect(rejectReason(() => node.submit(oneEmpty.raw)).reason).toBe(
      'mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)',
    );
  });

  it('refuses signatures out of key order, a non-null dummy, a non-DER and a high-S signature', () => {
    const { node, utxo } = setup();
    const tx = spendMultisig(ms, [utxo], [{ value: 990_000n, script: dest }]);
    const [dummy, s1, s2] = (tx.inputs[0]?.witness ?? []) as Uint8Array[];
    const withStack = (stack: Uint8Array[]) =>
      withWitnesses(tx, new Map([[0, [...stack, ms.witnessScript]]])).raw;
    expect(
      rejectReason(() =>
        node.submit(withStack([dummy as Uint8Array, s2 as Uint8Array, s1 as Uint8Array])),
      ).reason,
    ).toBe(
      'mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)',
    );
    expect(
      rejectReason(() =>
        node.submit(withStack([Uint8Array.of(1), s1 as Uint8Array, s2 as Uint8Array])),
      ).reason,
    ).toBe('mandatory-script-verify-flag-failed (Dummy CHECKMULTISIG argument must be zero)');
    const nonDer = concatBytes(
      Uint8Array.of(0x30, (s1 as Uint8Array)[1] as number),
      (s1 as Uint8Array).subarray(2, -1),
      Uint8Array.of(0x00, 0x01),
    );
    expect(
      rejectReason(() => node.submit(withStack([dummy as Uint8Array, nonDer, s2 as Uint8Array])))
        .reason,
    ).toBe('mandatory-script-verify-flag-failed (Non-canonical DER signature)');
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const der = (s1 as Uint8Array).subarray(0, -1);
    const lenR = der[3] as number;
    const s = BigInt(`0x${Buffer.from(der.subarray(6 + lenR)).toString('hex')}`);
    const highS = hexToBytes((n - s).toString(16).padStart(64, '0'));
    const sBytes = (highS[0] as number) & 0x80 ? concatBytes(Uint8Array.of(0), highS) : highS;
    const body = concatBytes(der.subarray(2, 4 + lenR), Uint8Array.of(0x02, sBytes.length), sBytes);
    const highSig = concatBytes(Uint8Array.of(0x30, body.length), body, Uint8Array.of(SIGHASH.ALL));
    expect(
      rejectReason(() => node.submit(withStack([dummy as Uint8Array, highSig, s2 as Uint8Array])))
        .reason,
    ).toBe(
      'non-mandatory-script-verify-flag (Non-canonical signature: S value is unnecessarily high)',
    );
  });

  it('refuses a double spend of a mempool transaction that does not signal BIP125 (txn-mempool-conflict)', () => {
    const node = fundedNode();
    const k = key('nonrbf');
    const utxo = fund(node, p2wpkhScript(k.publicKey), 500_000n);
    const first = spendP2wpkh(k, [utxo], [{ value: 490_000n, script: dest }], 0xffffffff);
    node.submit(first.raw);
    const second = spendP2wpkh(
      k,
      [utxo],
      [{ value: 480_000n, script: p2wpkhScript(key('other').publicKey) }],
      0xffffffff,
    );
    expect(rejectReason(() => node.submit(second.raw))).toMatchObject({
      reason: 'txn-mempool-conflict',
      rpcCode: -26,
    });
  });

  it('refuses a spend of an output already spent in the chain (-25 missing inputs)', () => {
    const { node, utxo } = setup();
    const tx = spendMultisig(ms, [utxo], [{ value: 990_000n, script: dest }]);
    node.submit(tx.raw);
    node.mine(1);
    const again = spendMultisig(ms, [utxo], [{ value: 980_000n, script: dest }]);
    expect(rejectReason(() => node.submit(again.raw))).toMatchObject({
      reason: 'bad-txns-inputs-missingorspent',
      rpcCode: -25,
    });
    expect(node.testAccept([again.raw])[0]).toMatchObject({
      allowed: false,
      rejectReason: 'missing-inputs',
    });
  });

  it('answers -27 for a transaction already confirmed', () => {
    const { node, utxo } = setup();
    const tx = spendMultisig(ms, [utxo], [{ value: 990_000n, script: dest }]);
    node.submit(tx.raw);
    node.mine(1);
    expect(rejectReason(() => node.submit(tx.raw))).toEqual({
      reason: 'Transaction outputs already in utxo set',
      rpcCode: -27,
      code: 'ALREADY_IN_CHAIN',
    });
  });

  it('refuses to spend an immature coinbase (depth below 100)', () => {
    const node = fundedNode();
    const tip = node.getBlock(node.tip().hash);
    const coinbase = tip?.block.txs[0];
    if (coinbase === undefined) throw new Error('no coinbase');
    const tx = makeTx({
      version: 2,
      lockTime: 0,
      inputs: [
        {
          prevTxid: coinbase.txid,
          vout: 0,
          scriptSig: new Uint8Array(0),
          sequence: 0xffffffff,
          witness: [new Uint8Array(72), new Uint8Array(33)],
        },
      ],
      outputs: [{ value: 1_000_000n, script: dest }],
    });
    expect(rejectReason(() => node.submit(tx.raw)).reason).toBe(
      'bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth 1',
    );
  });

  it('refuses duplicate inputs', () => {
    const { node, utxo } = setup();
    const tx = unsigned([input(utxo), input(utxo)], [{ value: 990_000n, script: dest }]);
    expect(rejectReason(() => node.submit(tx.raw))).toMatchObject({
      reason: 'bad-txns-inputs-duplicate',
      rpcCode: -26,
    });
  });

  it('refuses output value overflow: above 21e6 BTC, negative, and a total out of range', () => {
    const { node, utxo } = setup();
    const max = 21_000_000n * 100_000_000n;
    const cases: [bigint[], string][] = [
      [[max + 1n], 'bad-txns-vout-toolarge'],
      [[-1n], 'bad-txns-vout-negative'],
      [[max, max], 'bad-txns-txouttotal-toolarge'],
    ];
    for (const [values, reason] of cases) {
      // Signatures do not matter: CheckTransaction refuses these before any script runs.
      const tx = unsigned(
        [{ ...input(utxo), witness: [new Uint8Array(0), ms.witnessScript] }],
        values.map((value) => ({ value, script: dest })),
      );
      expect(rejectReason(() => node.submit(tx.raw)).reason).toBe(reason);
    }
  });

  it('refuses outputs worth more than the inputs', () => {
    const { node, utxo } = setup();
    const tx = spendMultisig(ms, [utxo], [{ value: 1_000_001n, script: dest }]);
    expect(rejectReason(() => node.submit(tx.raw)).reason).toBe(
      'bad-txns-in-belowout, value in (0.01) < value out (0.01000001)',
    );
  });

  it('refuses a fee below the minimum relay fee', () => {
    const { node, utxo } = setup();
    const tx = spendMultisig(ms, [utxo], [{ value: 999_900n, script: dest }]);
    expect(rejectReason(() => node.submit(tx.raw))).toMatchObject({
      reason: `min relay fee not met, 100 < ${tx.vsize}`,
      rpcCode: -26,
    });
  });

  it('refuses non-standard outputs: a bare OP_TRUE script, OP_RETURN above 83 bytes, two OP_RETURNs, dust', () => {
    const { node, utxo } = setup();
    const big = concatBytes(Uint8Array.of(0x6a, 0x4c, 81), new Uint8Array(81));
    const opReturn = Uint8Array.of(0x6a, 0x01, 0x01);
    const cases: [{ value: bigint; script: Uint8Array }[], string][] = [
      [[{ value: 900_000n, script: Uint8Array.of(0x51) }], 'scriptpubkey'],
      [
        [
          { value: 900_000n, script: dest },
          { value: 0n, script: big },
        ],
        'scriptpubkey',
      ],
      [
        [
          { value: 900_000n, script: dest },
          { value: 0n, script: opReturn },
          { value: 0n, script: opReturn },
        ],
        'multi-op-return',
      ],
      [
        [
          { value: 900_000n, script: dest },
          { value: 293n, script: dest },
        ],
        'dust',
      ],
    ];
    for (const [outputs, reason] of cases) {
      const tx = spendMultisig(ms, [utxo], outputs);
      expect(rejectReason(() => node.submit(tx.raw)).reason).toBe(reason);
    }
    const ok = spendMultisig(
      ms,
      [utxo],
      [
        { value: 900_000n, script: dest },
        { value: 294n, script: dest },
        { value: 0n, script: concatBytes(Uint8Array.of(0x6a, 0x4c, 80), new Uint8Array(80)) },
      ],
    );
    expect(node.testAccept([ok.raw])[0]?.allowed).toBe(true);
  });

  it('refuses unknown inputs, a non-final lock time and an unspendable burn above maxburnamount', () => {
    const { node, utxo } = setup();
    const ghost = spendMultisig(
      ms,
      [{ ...utxo, txid: 'ab'.repeat(32) }],
      [{ value: 990_000n, script: dest }],
    );
    expect(rejectReason(() => node.submit(ghost.raw)).reason).toBe(
      'bad-txns-inputs-missingorspent',
    );
    const locked = unsigned(
      [input(utxo)],
      [{ value: 990_000n, script: dest }],
      2,
      node.tip().height + 5,
    );
    expect(rejectReason(() => node.submit(locked.raw)).reason).toBe('non-final');
    const burn = spendMultisig(
      ms,
      [utxo],
      [
        { value: 900_000n, script: dest },
        { value: 1000n, script: Uint8Array.of(0x6a) },
      ],
    );
    expect(rejectReason(() => node.submit(burn.raw))).toEqual({
      reason: 'Unspendable output exceeds maximum configured by user (maxburnamount)',
      rpcCode: -25,
      code: 'MAX_BURN_EXCEEDED',
    });
    expect(node.submit(burn.raw, { maxBurnAmount: 1000n })).toBe(burn.txid);
  });

  it('refuses a fee above maxfeerate', () => {
    const node = fundedNode();
    const utxo = fund(node, ms.script, 50_000_000n);
    const tx = spendMultisig(ms, [utxo], [{ value: 100_000n, script: dest }]);
    expect(rejectReason(() => node.submit(tx.raw))).toMatchObject({
      reason: 'Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)',
      rpcCode: -25,
    });
    expect(node.testAccept([tx.raw])[0]).toMatchObject({
      allowed: false,
      rejectReason: 'max-fee-exceeded',
    });
  });

  it('refuses bytes that are not a transaction', () => {
    const node = fundedNode();
    expect(rejectReason(() => node.submit('00')).code).toBe('BAD_TX');
    expect(rejectReason(() => node.submit('zz')).code).toBe('BAD_TX');
  });
});
