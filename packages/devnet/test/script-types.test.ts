import { p2pkh, p2sh, p2tr, p2wpkh, Transaction } from '@scure/btc-signer';
import * as tiny from 'tiny-secp256k1';
import { describe, expect, it } from 'vitest';
import type { DevnetNode } from '../src/node.js';
import { fund, fundedNode, key, p2wpkhScript, rejectReason } from './helpers/chain.js';

const owner = key('types-owner');
const dest = p2wpkhScript(key('types-dest').publicKey);

/** Spends one funded output with @scure/btc-signer's own signer (an implementation independent of the node's). */
function spendWith(
  node: DevnetNode,
  script: Uint8Array,
  extra: Record<string, unknown>,
  tamper = false,
): Uint8Array {
  const utxo = fund(node, script, 1_000_000n);
  const prev = node.getTransaction(utxo.txid)?.tx.raw as Uint8Array;
  const tx = new Transaction({ allowUnknownOutputs: true });
  tx.addInput({
    txid: utxo.txid,
    index: utxo.vout,
    witnessUtxo: { script, amount: utxo.value },
    nonWitnessUtxo: prev,
    sequence: 0xfffffffd,
    ...extra,
  });
  tx.addOutput({ script: dest, amount: 990_000n });
  tx.sign(owner.privateKey);
  tx.finalize();
  const raw = tx.extract();
  if (tamper) raw[raw.length - 10] = (raw[raw.length - 10] as number) ^ 1;
  return raw;
}

describe('other script types, signed by btc-signer and checked by the node', () => {
  it('legacy P2PKH (legacy sighash, scriptSig)', () => {
    const node = fundedNode();
    const raw = spendWith(node, p2pkh(owner.publicKey).script, {});
    expect(node.testAccept([raw])[0]?.allowed).toBe(true);
  });

  it('P2SH-P2WPKH (nested segwit)', () => {
    const node = fundedNode();
    const inner = p2wpkh(owner.publicKey);
    const outer = p2sh(inner);
    const raw = spendWith(node, outer.script, { redeemScript: outer.redeemScript });
    expect(node.testAccept([raw])[0]?.allowed).toBe(true);
  });

  it('P2TR key path (BIP341 digest, BIP340 signature), and a tampered one refused', () => {
    const node = fundedNode();
    const xonly = tiny.xOnlyPointFromScalar(owner.privateKey);
    const tr = p2tr(xonly);
    const good = spendWith(node, tr.script, { tapInternalKey: xonly });
    expect(node.testAccept([good])[0]?.allowed).toBe(true);
    const bad = spendWith(node, tr.script, { tapInternalKey: xonly }, true);
    const r = rejectReason(() => node.submit(bad));
    expect(r.reason).toMatch(
      /^mandatory-script-verify-flag-failed \((Invalid Schnorr signature|Invalid Schnorr signature size)\)$/,
    );
  });
});
