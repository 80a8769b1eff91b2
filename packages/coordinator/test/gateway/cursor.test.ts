import { bytesToHex } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyCursorUpdate,
  type BlockEffects,
  decodeCursor,
  EMPTY_CURSOR,
  encodeProcessedBlock,
  type GatewayCursor,
  type OwnedOutput,
  type ProcessedBlock,
  parseCursor,
} from '../../src/gateway/index.js';
import { NO_EFFECTS } from '../../src/gateway/scan-block.js';

const h = (n: number) => n.toString(16).padStart(64, '0');
const blk = (
  height: number,
  effects: BlockEffects = NO_EFFECTS,
  parent = h(height - 1),
): ProcessedBlock => ({
  height,
  hash: h(height),
  previousHash: parent,
  effects,
});
const connect = (c: GatewayCursor, b: ProcessedBlock, keepFrom = 0) =>
  applyCursorUpdate(c, {
    kind: 'connect',
    block: b,
    expectedTip: c.blocks.length === 0 ? null : { height: b.height - 1, hash: h(b.height - 1) },
    keepFrom,
  });

const reason = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return (e as { detail?: { reason?: unknown } }).detail?.reason;
  }
  return undefined;
};

describe('applyCursorUpdate', () => {
  it('connects on the expected tip, prunes below keepFrom, disconnects only the tip', () => {
    let c = connect(EMPTY_CURSOR, blk(5));
    c = connect(c, blk(6));
    c = connect(c, blk(7), 6);
    expect(c.blocks.map((b) => b.height)).toEqual([6, 7]);
    expect(Object.isFrozen(c.blocks)).toBe(true);
    c = applyCursorUpdate(c, { kind: 'disconnect', block: { height: 7, hash: h(7) } });
    expect(c.blocks.map((b) => b.height)).toEqual([6]);
  });

  it('refuses updates that do not fit (fatal cursor_moved)', () => {
    const c = connect(connect(EMPTY_CURSOR, blk(5)), blk(6));
    // expected tip wrong
    expect(
      reason(() =>
        applyCursorUpdate(c, {
          kind: 'connect',
          block: blk(7),
          expectedTip: { height: 5, hash: h(5) },
          keepFrom: 0,
        }),
      ),
    ).toBe('cursor_moved');
    // not a child of the tip
    expect(reason(() => connect(c, blk(7, NO_EFFECTS, h(99))))).toBe('cursor_moved');
    expect(reason(() => connect(c, blk(8)))).toBe('cursor_moved');
    // expected empty, is not
    expect(
      reason(() =>
        applyCursorUpdate(c, { kind: 'connect', block: blk(7), expectedTip: null, keepFrom: 0 }),
      ),
    ).toBe('cursor_moved');
    // disconnect something that is not the tip
    expect(
      reason(() => applyCursorUpdate(c, { kind: 'disconnect', block: { height: 5, hash: h(5) } })),
    ).toBe('cursor_moved');
    expect(
      reason(() =>
        applyCursorUpdate(EMPTY_CURSOR, { kind: 'disconnect', block: { height: 5, hash: h(5) } }),
      ),
    ).toBe('cursor_moved');
  });
});

const outputArb: fc.Arbitrary<OwnedOutput> = fc.record({
  txid: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b)),
  vout: fc.nat(0xffffffff),
  value: fc.bigInt({ min: 0n, max: 2_100_000_000_000_000n }),
  scriptPubKey: fc.uint8Array({ minLength: 1, maxLength: 60 }),
  owner: fc.stringMatching(/^[\x21-\x7e]{1,20}$/),
  coinbase: fc.boolean(),
});
const effectsArb: fc.Arbitrary<BlockEffects> = fc.record({
  received: fc.array(outputArb, { maxLength: 3 }),
  spent: fc.array(
    fc.record({
      output: outputArb,
      spendingTxid: fc.constant(h(77)),
      inputIndex: fc.nat(1000),
    }),
    { maxLength: 3 },
  ),
  confirmedTracked: fc.array(fc.constant(h(12)), { maxLength: 2 }),
});

describe('cursor codec', () => {
  it('property: decode(JSON(encode(blocks))) gives the blocks back', () => {
    fc.assert(
      fc.property(
        fc.array(effectsArb, { minLength: 1, maxLength: 4 }),
        fc.nat(1000),
        (effects, start) => {
          const blocks = effects.map((e, i) => blk(start + i + 1, e));
          const stored = JSON.parse(JSON.stringify(blocks.map(encodeProcessedBlock)));
          const back = decodeCursor(stored);
          expect(back.blocks).toEqual(blocks);
          expect(parseCursor({ blocks }).blocks).toEqual(blocks);
        },
      ),
      { numRuns: 50, seed: 5_005 },
    );
  });

  it('refuses stored data that is malformed or not linked (fatal bad_cursor)', () => {
    const good = [blk(1), blk(2)].map(encodeProcessedBlock);
    expect(reason(() => decodeCursor([good[0], { ...good[1], previousHash: h(9) }]))).toBe(
      'bad_cursor',
    );
    expect(reason(() => decodeCursor([good[0], { ...good[1], height: 3 }]))).toBe('bad_cursor');
    expect(reason(() => decodeCursor([{ ...good[0], hash: 'zz' }]))).toBe('bad_cursor');
    const withOutput = encodeProcessedBlock(
      blk(1, {
        ...NO_EFFECTS,
        received: [
          {
            txid: h(1),
            vout: 0,
            value: 5n,
            scriptPubKey: new Uint8Array([1]),
            owner: 'a',
            coinbase: false,
          },
        ],
      }),
    );
    const e = withOutput.effects as { received: Record<string, unknown>[] };
    for (const bad of [
      { value: '-5' },
      { value: '05' },
      { value: 5 },
      { scriptPubKey: 'XY' },
      { owner: '' },
      { extra: 1 },
    ]) {
      const broken = { ...withOutput, effects: { ...e, received: [{ ...e.received[0], ...bad }] } };
      expect(reason(() => decodeCursor([broken]))).toBe('bad_cursor');
    }
    expect(reason(() => parseCursor({ blocks: [{ ...blk(1), extra: true }] }))).toBe('bad_cursor');
    expect(reason(() => parseCursor(null))).toBe('bad_cursor');
  });
});
