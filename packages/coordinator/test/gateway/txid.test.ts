import { readFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { Transaction } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { txidOfRaw } from '../../src/gateway/index.js';
import { makeTx, wsh } from './fake-chain.js';

const vector = z
  .object({ source: z.string(), raw: z.string(), txid: z.string() })
  .parse(
    JSON.parse(readFileSync(new URL('./vectors/genesis-coinbase.json', import.meta.url), 'utf8')),
  );

describe('txidOfRaw', () => {
  it('gives the genesis coinbase txid (public vector)', () => {
    expect(txidOfRaw(hexToBytes(vector.raw))).toBe(vector.txid);
  });

  it('hashes the serialization without witness for a segwit transaction', () => {
    const tx = makeTx({
      inputs: [
        { txid: 'aa'.repeat(32), vout: 1 },
        { txid: 'bb'.repeat(32), vout: 0 },
      ],
      outputs: [{ script: wsh('x'), value: 1_234n }],
      witness: true,
    });
    const id = txidOfRaw(tx.raw);
    expect(id).toBe(tx.txid);
    expect(id).toBe(
      Transaction.fromRaw(tx.raw, { allowUnknownOutputs: true, allowUnknownInputs: true }).id,
    );
    // Not the hash of the full bytes (which include the witness).
    expect(id).not.toBe(bytesToHex(sha256(sha256(tx.raw)).reverse()));
  });

  it('refuses empty, undecodable, trailing and non-byte input (BAD_REQUEST)', () => {
    const raw = hexToBytes(vector.raw);
    for (const bad of [
      new Uint8Array(0),
      raw.subarray(0, raw.length - 1),
      new Uint8Array([...raw, 0]),
      'deadbeef' as unknown as Uint8Array,
    ]) {
      expect(() => txidOfRaw(bad)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    }
  });
});
