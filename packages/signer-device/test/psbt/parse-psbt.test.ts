import { readFileSync } from 'node:fs';
import { base64 } from '@scure/base';
import { Transaction } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { isSignerError } from '../../src/errors.js';
import { DEFAULT_PSBT_LIMITS } from '../../src/psbt/limits.js';
import { parseTx, prescanPsbt } from '../../src/psbt/parse-psbt.js';
import { withoutUtxoRecords } from '../../src/psbt/verify-parse.js';
import { verifyPsbt } from '../../src/psbt/verify-psbt.js';
import { VERIFY_REASONS } from '../../src/psbt/verify-reasons.js';
import { buildPsbt, encodePsbt, makeContext, mutate, serializeTx, setField } from './fixtures.js';

interface Vectors {
  source: string;
  invalid: { case: string; base64: string }[];
}
const bip174 = JSON.parse(
  readFileSync(new URL('../vectors/bip174/invalid.json', import.meta.url), 'utf8'),
) as Vectors;

function errorOf(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (!isSignerError(e)) throw e;
    return { code: e.code, ...(e.detail as { reason?: string }) };
  }
  return { code: 'ACCEPTED' };
}

const valid = buildPsbt();
const ctx = makeContext();
const LIMITS = DEFAULT_PSBT_LIMITS;
const TX_LIMITS = {
  maxInputs: 10,
  maxOutputs: 10,
  maxScriptBytes: 10_000,
  tooManyInputs: VERIFY_REASONS.TOO_MANY_INPUTS,
  tooManyOutputs: VERIFY_REASONS.TOO_MANY_OUTPUTS,
};
const hexOf = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const fromHex = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (x) => Number.parseInt(x, 16));

describe('BIP174 published invalid PSBTs', () => {
  it(`has all ${bip174.invalid.length} cases of the list`, () => {
    expect(bip174.invalid).toHaveLength(19);
  });
  for (const v of bip174.invalid) {
    it(`refuses as BAD_PSBT: ${v.case}`, () => {
      expect(errorOf(() => verifyPsbt(base64.decode(v.base64), ctx)).code).toBe('BAD_PSBT');
    });
  }
});

describe('prescanPsbt', () => {
  it('walks the valid PSBT: one map per input and output', () => {
    const pre = prescanPsbt(valid.psbt, LIMITS);
    expect(pre.inputs).toHaveLength(3);
    expect(pre.outputs).toHaveLength(3);
    expect(pre.tx.outputs.map((o) => o.amount)).toEqual([1_200_000n, 300_000n, 1_490_000n]);
  });

  it('refuses a wrong magic', () => {
    const p = valid.psbt.slice();
    p[4] = 0x00;
    expect(errorOf(() => prescanPsbt(p, LIMITS))).toEqual(
      expect.objectContaining({ code: 'BAD_PSBT', reason: 'BAD_MAGIC' }),
    );
  });

  it('refuses an input count above the limit before reading any input', () => {
    // unsigned tx: version, count 0xfd e9 03 (1001), and nothing else
    const tx = fromHex('02000000fde903');
    const psbt = Uint8Array.from([
      0x70,
      0x73,
      0x62,
      0x74,
      0xff,
      0x01,
      0x00,
      tx.length,
      ...tx,
      0x00,
    ]);
    expect(errorOf(() => prescanPsbt(psbt, LIMITS))).toEqual(
      expect.objectContaining({ reason: 'TOO_MANY_INPUTS' }),
    );
  });

  it('refuses a count the remaining bytes cannot hold, without allocating for it', () => {
    const tx = fromHex('02000000fee8030000'); // 1000 inputs claimed, 0 bytes follow
    const psbt = Uint8Array.from([
      0x70,
      0x73,
      0x62,
      0x74,
      0xff,
      0x01,
      0x00,
      tx.length,
      ...tx,
      0x00,
    ]);
    expect(errorOf(() => prescanPsbt(psbt, LIMITS))).toEqual(
      expect.objectContaining({ code: 'BAD_PSBT' }),
    );
  });

  it('refuses a value length beyond the end', () => {
    const psbt = Uint8Array.from([
      0x70, 0x73, 0x62, 0x74, 0xff, 0x01, 0x00, 0xfe, 0xff, 0xff, 0xff, 0x7f, 0x00,
    ]);
    expect(errorOf(() => prescanPsbt(psbt, LIMITS))).toEqual(
      expect.objectContaining({ reason: 'TRUNCATED' }),
    );
  });

  it('refuses a non-minimal compact size', () => {
    const p = mutate(valid.psbt, () => {});
    // the unsigned tx value length (1 byte < 0xfd) re-encoded as 0xfd xx xx
    const len = p[7] ?? 0;
    const q = Uint8Array.from([...p.subarray(0, 7), 0xfd, len, 0, ...p.subarray(8)]);
    expect(errorOf(() => prescanPsbt(q, LIMITS))).toEqual(
      expect.objectContaining({ reason: 'NON_MINIMAL_COMPACT_SIZE' }),
    );
  });

  it('refuses more records in a map than the limit, and over-long keys', () => {
    const many = mutate(valid.psbt, (e) => {
      for (let i = 0; i < 65; i++) setField(e.outputs[0]!, [0xfc, 1, 0x41, i], Uint8Array.of(i));
    });
    expect(errorOf(() => prescanPsbt(many, LIMITS))).toEqual(
      expect.objectContaining({ reason: 'TOO_MANY_KEYS' }),
    );
    const long = mutate(valid.psbt, (e) =>
      setField(e.outputs[0]!, [0xfc, ...new Uint8Array(300)], Uint8Array.of(1)),
    );
    expect(errorOf(() => prescanPsbt(long, LIMITS))).toEqual(
      expect.objectContaining({ reason: 'KEY_TOO_LONG' }),
    );
  });

  it('refuses duplicate keys in a map', () => {
    const p = mutate(valid.psbt, (e) => {
      const m = e.inputs[0]!;
      const first = m[0]!;
      m.push({ key: first.key.slice(), value: first.value.slice() });
    });
    expect(errorOf(() => prescanPsbt(p, LIMITS))).toEqual(
      expect.objectContaining({ reason: 'DUPLICATE_KEY' }),
    );
  });

  it('refuses missing maps and trailing bytes', () => {
    const p = mutate(valid.psbt, (e) => void e.outputs.pop());
    expect(errorOf(() => prescanPsbt(p, LIMITS))).toEqual(
      expect.objectContaining({ reason: 'MAP_COUNT' }),
    );
    const q = Uint8Array.from([...valid.psbt, 0x00]);
    expect(errorOf(() => prescanPsbt(q, LIMITS))).toEqual(
      expect.objectContaining({ reason: 'TRAILING_BYTES' }),
    );
  });

  it('refuses PSBT version 2 and version-2 fields', () => {
    const v2 = mutate(valid.psbt, (e) =>
      e.global.push({ key: Uint8Array.of(0xfb), value: Uint8Array.of(2, 0, 0, 0) }),
    );
    expect(errorOf(() => prescanPsbt(v2, LIMITS))).toEqual(
      expect.objectContaining({ reason: 'UNSUPPORTED_PSBT_VERSION' }),
    );
    const v0 = mutate(valid.psbt, (e) =>
      e.global.push({ key: Uint8Array.of(0xfb), value: Uint8Array.of(0, 0, 0, 0) }),
    );
    expect(errorOf(() => prescanPsbt(v0, LIMITS)).code).toBe('ACCEPTED');
    const field = mutate(valid.psbt, (e) =>
      e.global.push({ key: Uint8Array.of(0x04), value: Uint8Array.of(3) }),
    );
    expect(errorOf(() => prescanPsbt(field, LIMITS))).toEqual(
      expect.objectContaining({ reason: 'BAD_FIELD' }),
    );
  });

  it('refuses an unsigned transaction with a scriptSig', () => {
    const p = mutate(valid.psbt, () => {});
    const pre = prescanPsbt(p, LIMITS);
    const tx = serializeTx({
      version: 2,
      locktime: 0,
      inputs: pre.tx.inputs.map((i) => ({ ...i })),
      outputs: pre.tx.outputs.map((o) => ({ ...o })),
    });
    // put a 1-byte scriptSig (0x51) into input 0: script length byte sits after txid + vout
    const at = 4 + 1 + 36;
    const withSig = Uint8Array.from([...tx.subarray(0, at), 1, 0x51, ...tx.subarray(at + 1)]);
    const psbt = Uint8Array.from([
      0x70,
      0x73,
      0x62,
      0x74,
      0xff,
      0x01,
      0x00,
      withSig.length,
      ...withSig,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
    ]);
    expect(errorOf(() => prescanPsbt(psbt, LIMITS))).toEqual(
      expect.objectContaining({ reason: 'BAD_UNSIGNED_TX' }),
    );
  });

  it('the fixture encoder and the prescan agree (round trip)', () => {
    const once = mutate(valid.psbt, () => {});
    expect(mutate(once, () => {})).toEqual(once);
    expect(encodePsbt).toBeTypeOf('function');
  });
});

describe('parseTx', () => {
  it('computes the txid of a witness transaction without its witness, as btc-signer does', () => {
    const raw = valid.funding;
    const tx = parseTx(raw, 'test', TX_LIMITS);
    expect(tx.hasWitness).toBe(true);
    const lib = Transaction.fromRaw(raw, {
      allowUnknownOutputs: true,
      allowUnknownInputs: true,
      disableScriptCheck: true,
    });
    expect(hexOf(tx.txid.slice().reverse())).toBe(lib.id);
  });

  it('reads amounts as unsigned 64-bit (a negative int64 shows as 2^64 - X)', () => {
    const raw = serializeTx({
      version: 2,
      locktime: 0,
      inputs: [{ txid: new Uint8Array(32), vout: 0, sequence: 0 }],
      outputs: [{ amount: 2n ** 64n - 5n, script: Uint8Array.of(0x51) }],
    });
    expect(parseTx(raw, 'test', TX_LIMITS).outputs[0]?.amount).toBe(2n ** 64n - 5n);
  });

  it('refuses trailing bytes, truncation and too many outputs', () => {
    const raw = serializeTx({
      version: 2,
      locktime: 0,
      inputs: [{ txid: new Uint8Array(32), vout: 0, sequence: 0 }],
      outputs: [{ amount: 1n, script: Uint8Array.of(0x51) }],
    });
    expect(errorOf(() => parseTx(Uint8Array.from([...raw, 0]), 't', TX_LIMITS))).toEqual(
      expect.objectContaining({ reason: 'TRAILING_BYTES' }),
    );
    for (let n = 0; n < raw.length; n++) {
      expect(errorOf(() => parseTx(raw.subarray(0, n), 't', TX_LIMITS)).code).toBe('BAD_PSBT');
    }
    expect(errorOf(() => parseTx(raw, 't', { ...TX_LIMITS, maxOutputs: 0 }))).toEqual(
      expect.objectContaining({ reason: 'TOO_MANY_OUTPUTS' }),
    );
  });
});

describe('withoutUtxoRecords', () => {
  it('leaves out exactly the two UTXO records of each input', () => {
    const pre = prescanPsbt(valid.psbt, LIMITS);
    const stripped = prescanPsbt(withoutUtxoRecords(pre), LIMITS);
    pre.inputs.forEach((m, i) => {
      const kept = m.filter((e) => !(e.key.length === 1 && (e.key[0] === 0 || e.key[0] === 1)));
      expect(stripped.inputs[i]?.map((e) => hexOf(e.key))).toEqual(kept.map((e) => hexOf(e.key)));
      expect(m.length - kept.length).toBe(2);
    });
    expect(stripped.outputs.map((m) => m.length)).toEqual(pre.outputs.map((m) => m.length));
  });

  it('refuses previous transactions over the per-transaction and total limits', () => {
    const small = { ...LIMITS, maxPrevTxBytes: valid.funding.length - 1 };
    expect(errorOf(() => verifyPsbt(valid.psbt, makeContext({ limits: small })))).toEqual(
      expect.objectContaining({ reason: 'PREV_TX_TOO_LARGE' }),
    );
    const total = { ...LIMITS, maxPrevTxTotalBytes: valid.funding.length * 2 };
    expect(errorOf(() => verifyPsbt(valid.psbt, makeContext({ limits: total })))).toEqual(
      expect.objectContaining({ reason: 'PREV_TX_TOO_LARGE' }),
    );
  });
});
