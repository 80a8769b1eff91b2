/**
 * Shared zod building blocks for the RPC method table (methods.ts) and the envelopes
 * (rpc-envelope.ts). Every object schema is strict: an unknown key is an error, never ignored.
 *
 * Values arrive from `decodeStrict` (cbor.ts): integers as `number` when safe, else `bigint`;
 * byte strings as `Uint8Array`; maps as plain objects with text keys.
 */
import { z } from 'zod';
import { WireError } from './errors.js';

/** The RPC protocol version a device reports in `get_info`. */
export const PROTOCOL_VERSION = 1;

/** 21 million BTC in satoshis: no amount on the wire may exceed it. */
export const MAX_SATS = 2_100_000_000_000_000n;

/** A bound used by the builders below: a non-negative safe integer. */
function checkBound(place: string, name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new WireError(
      'INTERNAL',
      `${place}: expected ${name} a non-negative safe integer, got ${String(n)}`,
    );
  }
}

function checkRange(place: string, min: number, max: number): void {
  checkBound(place, 'min', min);
  checkBound(place, 'max', max);
  if (min > max)
    throw new WireError('INTERNAL', `${place}: expected min <= max, got ${min} > ${max}`);
}

/** A byte string (`Uint8Array`) of `min..max` bytes inclusive. */
export function bytes(min: number, max: number) {
  checkRange('schemas/bytes', min, max);
  return z.instanceof(Uint8Array).check((ctx) => {
    const n = ctx.value.length;
    if (n < min) {
      ctx.issues.push({
        code: 'too_small',
        origin: 'array',
        minimum: min,
        inclusive: true,
        input: ctx.value,
        message: `expected at least ${min} bytes, got ${n}`,
      });
    } else if (n > max) {
      ctx.issues.push({
        code: 'too_big',
        origin: 'array',
        maximum: max,
        inclusive: true,
        input: ctx.value,
        message: `expected at most ${max} bytes, got ${n}`,
      });
    }
  });
}

/** Exactly `n` bytes. */
export function bytesN(n: number) {
  return bytes(n, n);
}

/** A lone UTF-16 surrogate cannot be encoded as UTF-8: CBOR text must not contain one. */
const LONE_SURROGATE = /\p{Cs}/u;

/** A text string of `min..max` UTF-16 code units, well formed (no lone surrogates). */
export function text(min: number, max: number) {
  checkRange('schemas/text', min, max);
  return z
    .string()
    .min(min)
    .max(max)
    .refine((s) => !LONE_SURROGATE.test(s), { message: 'expected well-formed Unicode text' });
}

/** A non-negative safe integer (0..2^53-1). Negative zero is refused: it is not a CBOR integer. */
export const uint = z
  .number()
  .int()
  .min(0)
  .refine((n) => !Object.is(n, -0), { message: 'expected an integer, got -0' });

/**
 * An amount in satoshis: a non-negative safe integer `number` or a `bigint`, at most 21e14.
 * The output is always a `bigint` so that arithmetic on amounts never loses precision.
 */
export const sats = z
  .union([uint, z.bigint()])
  .transform((v) => BigInt(v))
  .pipe(z.bigint().min(0n).max(MAX_SATS));

export const NETWORKS = Object.freeze(['mainnet', 'testnet', 'signet', 'regtest'] as const);
export const network = z.enum(NETWORKS);

export const DEVICE_STATES = Object.freeze([
  'uninitialized',
  'locked',
  'unlocked',
  'armed',
  'paused',
] as const);
export const deviceState = z.enum(DEVICE_STATES);
export type DeviceState = z.infer<typeof deviceState>;

/** Printable ASCII without spaces, 1..64 characters: device ids, key ids. */
export const identifier = text(1, 64).regex(/^[\x21-\x7e]+$/, {
  message: 'expected printable ASCII without spaces',
});

export const bytes4 = bytesN(4);
export const bytes32 = bytesN(32);
export const bytes33 = bytesN(33);
/** An Ed25519 signature. */
export const signature64 = bytesN(64);

/** One key holder's or risk officer's Ed25519 signature over a request's signed content. */
export const approval = z.strictObject({
  keyId: text(1, 64),
  signature: signature64,
});
export type Approval = z.infer<typeof approval>;

/** `min..max` approvals. */
export function approvals(min: number, max: number) {
  checkRange('schemas/approvals', min, max);
  return z.array(approval).min(min).max(max);
}

/** The `data` of a POLICY_REFUSED error: which rule refused, and where. */
export const refusalReport = z.strictObject({
  rule: text(1, 64),
  output: uint.nullable(),
  input: uint.nullable(),
  detail: text(0, 512),
});
export type RefusalReport = z.infer<typeof refusalReport>;

/** The `data` of a BAD_PARAMS or BAD_RESULT error: where and what, never the offending value. */
export const MAX_REPORTED_ISSUES = 32;
export const issueReport = z
  .array(
    z.strictObject({
      path: z.array(z.union([text(0, 64), uint])).max(16),
      code: text(1, 64),
    }),
  )
  .max(MAX_REPORTED_ISSUES);
export type IssueReport = z.infer<typeof issueReport>;

/** Turn zod issues into an `issueReport`: paths and codes only, bounded in count and depth. */
export function reportIssues(error: z.ZodError): IssueReport {
  return error.issues.slice(0, MAX_REPORTED_ISSUES).map((issue) => ({
    path: issue.path.slice(0, 16).map((p) => (typeof p === 'number' ? p : String(p).slice(0, 64))),
    code: issue.code,
  }));
}
