/**
 * The follower's persisted position (docs/gateway.md §4): the last processed blocks, oldest
 * first, each with its hash, parent hash and the effects it had on us (the undo data a reorg
 * reverses). Updates are values, applied by a pure function, so the in-memory store, a SQL
 * store and the follower all move the cursor the same way. The JSON codec is for a store that
 * keeps blocks as text; `parseCursor` validates whatever a store loads.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { issuesWhere } from '../risk/config.js';
import { MAX_MONEY_SATS } from '../storage/schema.js';
import { hash64 } from './chain-data.js';
import { gatewayFatal } from './fatal.js';
import type { BlockEffects } from './scan-block.js';
import { MAX_WATCHED_SCRIPT_BYTES } from './watch-index.js';

export interface BlockRef {
  readonly height: number;
  readonly hash: string;
}

export interface ProcessedBlock extends BlockRef {
  readonly previousHash: string;
  readonly effects: BlockEffects;
}

/** Processed blocks, oldest first, heights consecutive, each the parent of the next. */
export interface GatewayCursor {
  readonly blocks: readonly ProcessedBlock[];
}

export type CursorUpdate =
  /** Append `block` on top of `expectedTip` (null: the cursor is empty); drop heights < keepFrom. */
  | {
      readonly kind: 'connect';
      readonly block: ProcessedBlock;
      readonly expectedTip: BlockRef | null;
      readonly keepFrom: number;
    }
  /** Remove `block`, which must be the cursor's tip. */
  | { readonly kind: 'disconnect'; readonly block: BlockRef };

export const EMPTY_CURSOR: GatewayCursor = Object.freeze({ blocks: Object.freeze([]) });

/** The newest processed block, or null. */
export function cursorTip(cursor: GatewayCursor): ProcessedBlock | null {
  return cursor.blocks[cursor.blocks.length - 1] ?? null;
}

function sameRef(a: BlockRef | null, b: BlockRef | null): boolean {
  return a === null || b === null ? a === b : a.height === b.height && a.hash === b.hash;
}

function describeRef(r: BlockRef | null): string {
  return r === null ? 'an empty cursor' : `${r.hash} at height ${r.height}`;
}

/**
 * Apply an update; the cursor must be where the update expects it, or the result is a fatal
 * `cursor_moved` (two writers, or a commit lost and replayed elsewhere).
 */
export function applyCursorUpdate(cursor: GatewayCursor, update: CursorUpdate): GatewayCursor {
  const place = 'gateway/cursor/apply';
  const tip = cursorTip(cursor);
  if (update.kind === 'connect') {
    const { block, expectedTip } = update;
    if (!sameRef(tip, expectedTip)) {
      throw gatewayFatal(
        'INTERNAL',
        'cursor_moved',
        `${place}: expected the cursor at ${describeRef(expectedTip)}, got ${describeRef(tip)}`,
      );
    }
    if (tip !== null && (block.height !== tip.height + 1 || block.previousHash !== tip.hash)) {
      throw gatewayFatal(
        'INTERNAL',
        'cursor_moved',
        `${place}: expected a child of ${describeRef(tip)}, got ${describeRef(block)} with parent ${block.previousHash}`,
      );
    }
    const blocks = [...cursor.blocks.filter((b) => b.height >= update.keepFrom), block];
    return Object.freeze({ blocks: Object.freeze(blocks) });
  }
  if (tip === null || !sameRef(tip, update.block)) {
    throw gatewayFatal(
      'INTERNAL',
      'cursor_moved',
      `${place}: expected to disconnect the tip ${describeRef(tip)}, got ${describeRef(update.block)}`,
    );
  }
  return Object.freeze({ blocks: Object.freeze(cursor.blocks.slice(0, -1)) });
}

// ---- validation of a loaded cursor ----------------------------------------------------------

const id = z.string().regex(/^[\x21-\x7e]{1,128}$/, 'expected 1..128 printable ASCII');
const u32 = z.number().int().min(0).max(0xffffffff);
const height = z.number().int().min(0).max(100_000_000);

function outputSchema<V, S>(value: z.ZodType<V>, script: z.ZodType<S>) {
  return z.strictObject({
    txid: hash64,
    vout: u32,
    value,
    scriptPubKey: script,
    owner: id,
    coinbase: z.boolean(),
  });
}

function cursorSchema<V, S>(value: z.ZodType<V>, script: z.ZodType<S>) {
  const output = outputSchema(value, script);
  return z.strictObject({
    blocks: z.array(
      z.strictObject({
        height,
        hash: hash64,
        previousHash: hash64,
        effects: z.strictObject({
          received: z.array(output),
          spent: z.array(z.strictObject({ output, spendingTxid: hash64, inputIndex: u32 })),
          confirmedTracked: z.array(hash64),
        }),
      }),
    ),
  });
}

const sats = z.bigint().min(0n).max(MAX_MONEY_SATS);
const scriptBytes = z
  .instanceof(Uint8Array)
  .refine((b) => b.length >= 1 && b.length <= MAX_WATCHED_SCRIPT_BYTES, 'expected 1..10000 bytes');
const memorySchema = cursorSchema(sats, scriptBytes);

const jsonSchema = cursorSchema(
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, 'expected satoshis as a decimal string')
    .transform((s) => BigInt(s))
    .pipe(sats),
  z
    .string()
    .regex(/^(?:[0-9a-f]{2}){1,10000}$/, 'expected a script as lowercase hex')
    .transform((s) => hexToBytes(s)),
);

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function checkLinks(place: string, cursor: GatewayCursor): GatewayCursor {
  for (let i = 1; i < cursor.blocks.length; i++) {
    const prev = cursor.blocks[i - 1] as ProcessedBlock;
    const b = cursor.blocks[i] as ProcessedBlock;
    if (b.height !== prev.height + 1 || b.previousHash !== prev.hash) {
      throw gatewayFatal(
        'INTERNAL',
        'bad_cursor',
        `${place}: expected block ${i} to be the child of ${describeRef(prev)}, got ${describeRef(b)} with parent ${b.previousHash}`,
      );
    }
  }
  return deepFreeze(cursor);
}

/** Validate a cursor a store loaded (bigint values, byte scripts); fatal `bad_cursor` if not. */
export function parseCursor(value: unknown): GatewayCursor {
  const place = 'gateway/cursor/parse';
  const r = memorySchema.safeParse(value);
  if (!r.success) {
    throw gatewayFatal(
      'INTERNAL',
      'bad_cursor',
      `${place}: expected a gateway cursor, got issues at ${issuesWhere(r.error)}`,
    );
  }
  return checkLinks(place, r.data);
}

/** The JSON-safe form of a processed block: satoshis as decimal strings, scripts as hex. */
export interface ProcessedBlockJson {
  readonly height: number;
  readonly hash: string;
  readonly previousHash: string;
  readonly effects: unknown;
}

function outputJson(o: BlockEffects['received'][number]) {
  return {
    txid: o.txid,
    vout: o.vout,
    value: o.value.toString(),
    scriptPubKey: bytesToHex(o.scriptPubKey),
    owner: o.owner,
    coinbase: o.coinbase,
  };
}

export function encodeProcessedBlock(b: ProcessedBlock): ProcessedBlockJson {
  return {
    height: b.height,
    hash: b.hash,
    previousHash: b.previousHash,
    effects: {
      received: b.effects.received.map(outputJson),
      spent: b.effects.spent.map((s) => ({
        output: outputJson(s.output),
        spendingTxid: s.spendingTxid,
        inputIndex: s.inputIndex,
      })),
      confirmedTracked: [...b.effects.confirmedTracked],
    },
  };
}

/** Decode blocks stored with `encodeProcessedBlock` (oldest first) into a validated cursor. */
export function decodeCursor(blocks: unknown): GatewayCursor {
  const place = 'gateway/cursor/decode';
  const r = jsonSchema.safeParse({ blocks });
  if (!r.success) {
    throw gatewayFatal(
      'INTERNAL',
      'bad_cursor',
      `${place}: expected stored gateway blocks, got issues at ${issuesWhere(r.error)}`,
    );
  }
  return checkLinks(place, r.data);
}
