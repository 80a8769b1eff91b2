/**
 * The RPC method table: for each method its params schema, its result schema and the device
 * states in which the device dispatcher accepts it. Types are inferred from the schemas.
 * PROTOCOL.md §5 documents every method with an example request and reply.
 */
import { z } from 'zod';
import {
  approval,
  approvals,
  bytes,
  bytes4,
  bytes32,
  bytes33,
  type DeviceState,
  deviceState,
  identifier,
  network,
  PROTOCOL_VERSION,
  sats,
  signature64,
  text,
  uint,
} from './schemas.js';

const KIB = 1024;
const MIB = 1024 * KIB;

/** Largest binary PSBT accepted by `sign_psbt`. */
export const MAX_PSBT_BYTES = 4 * MIB + KIB;
/** Largest signed policy document accepted by `update_policy`. */
export const MAX_POLICY_BYTES = MIB;
/** Most withdrawal intents in one `sign_psbt`, and most signatures in its reply. */
export const MAX_INTENTS = 10_000;
export const MAX_SIGNATURES = 10_000;
/** Largest body of one audit log entry. */
export const MAX_AUDIT_BODY_BYTES = 64 * KIB;

/** The base58 alphabet of extended keys (no 0, O, I, l). */
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]+$/;
/** `m` then steps of up to 10 decimal digits, each optionally hardened with `'`. */
const BIP32_PATH = /^m(\/\d{1,10}'?)*$/;

const ALL_STATES: readonly DeviceState[] = deviceState.options;

interface MethodSpec<P extends z.ZodType, R extends z.ZodType> {
  readonly params: P;
  readonly result: R;
  /** States in which the device runs the method; in any other it answers a state error. */
  readonly allowedStates: readonly DeviceState[];
}

function method<P extends z.ZodType, R extends z.ZodType>(
  params: P,
  result: R,
  allowedStates: readonly DeviceState[],
): MethodSpec<P, R> {
  return Object.freeze({ params, result, allowedStates: Object.freeze([...allowedStates]) });
}

const stateResult = z.strictObject({ state: deviceState });

const activationChallenge = z.strictObject({
  challenge: bytes32,
  bootNonce: bytes32,
  expiresAt: uint,
});

/** A second holder's signed activation of an unlocked device. */
export const signedActivation = z.strictObject({
  deviceId: identifier,
  challenge: bytes32,
  bootNonce: bytes32,
  expiresAt: uint,
  holderKeyId: identifier,
  signature: signature64,
});

/** One withdrawal the online risk system approved, signed by it. */
export const withdrawalIntent = z.strictObject({
  withdrawalId: text(1, 64),
  scriptPubKey: bytes(1, 520),
  amount: sats,
  expiresAt: uint,
  signature: signature64,
});

/** One ECDSA signature for one PSBT input: DER plus the sighash byte. */
export const inputSignature = z.strictObject({
  input: uint,
  pubkey: bytes33,
  signature: bytes(9, 73),
});

export const auditEntry = z.strictObject({
  seq: uint,
  time: uint,
  kind: text(1, 32),
  body: bytes(0, MAX_AUDIT_BODY_BYTES),
  prevHash: bytes32,
  hash: bytes32,
});

const empty = z.strictObject({});

export const METHODS = Object.freeze({
  ping: method(
    z.strictObject({ nonce: bytes(0, 32) }),
    z.strictObject({ nonce: bytes(0, 32), uptimeMs: uint }),
    ALL_STATES,
  ),
  get_info: method(
    empty,
    z.strictObject({
      protocolVersion: z.literal(PROTOCOL_VERSION),
      deviceId: identifier,
      firmware: text(1, 64),
      network,
      state: deviceState,
      fingerprint: bytes4.nullable(),
      policyVersion: uint.nullable(),
      wallets: uint,
    }),
    ALL_STATES,
  ),
  get_xpub: method(
    empty,
    z.strictObject({
      xpub: text(1, 200).regex(BASE58, { message: 'expected a base58 extended public key' }),
      fingerprint: bytes4,
      path: text(1, 128).regex(BIP32_PATH, {
        message: "expected a BIP32 path like m/48'/1'/0'/2'",
      }),
    }),
    ['locked', 'unlocked', 'armed', 'paused'],
  ),
  unlock_status: method(
    empty,
    z.strictObject({ state: deviceState, activation: activationChallenge.nullable() }),
    ALL_STATES,
  ),
  activate: method(z.strictObject({ activation: signedActivation }), stateResult, ['unlocked']),
  register_wallet: method(
    z.strictObject({
      name: text(1, 64),
      descriptor: text(1, 4096),
      approvals: approvals(1, 16),
    }),
    z.strictObject({ walletId: bytes32, name: text(1, 64) }),
    ['unlocked', 'armed', 'paused'],
  ),
  update_policy: method(
    z.strictObject({
      document: bytes(1, MAX_POLICY_BYTES),
      approvals: approvals(1, 16),
    }),
    z.strictObject({ version: uint, hash: bytes32 }),
    ['unlocked', 'armed', 'paused'],
  ),
  sign_psbt: method(
    z.strictObject({
      wallet: text(1, 64),
      psbt: bytes(1, MAX_PSBT_BYTES),
      time: z.strictObject({ unixSeconds: uint, height: uint }),
      intents: z.array(withdrawalIntent).max(MAX_INTENTS),
    }),
    z.strictObject({
      signatures: z.array(inputSignature).max(MAX_SIGNATURES),
      auditSeq: uint,
    }),
    ['armed'],
  ),
  pause: method(z.strictObject({ reason: text(0, 256), approval }), stateResult, ['armed']),
  resume: method(z.strictObject({ approvals: approvals(2, 16) }), stateResult, ['paused']),
  get_audit_log: method(
    z.strictObject({ fromSeq: uint, limit: uint.min(1).max(1000) }),
    z.strictObject({
      entries: z.array(auditEntry).max(1000),
      head: z.strictObject({ seq: uint, hash: bytes32, signature: signature64 }),
    }),
    ['locked', 'unlocked', 'armed', 'paused'],
  ),
  lock: method(empty, stateResult, ['unlocked', 'armed', 'paused']),
});

export type Methods = typeof METHODS;
export type MethodName = keyof Methods;
/** Params as a handler receives them (after parsing: amounts are `bigint`). */
export type MethodParams<M extends MethodName> = z.output<Methods[M]['params']>;
/** Params as a caller may write them (amounts as `number` or `bigint`). */
export type MethodParamsInput<M extends MethodName> = z.input<Methods[M]['params']>;
/** A result as the client returns it. */
export type MethodResult<M extends MethodName> = z.output<Methods[M]['result']>;
/** A result as a handler may return it. */
export type MethodResultInput<M extends MethodName> = z.input<Methods[M]['result']>;

export const METHOD_NAMES: readonly MethodName[] = Object.freeze(
  Object.keys(METHODS) as MethodName[],
);

/** True when `name` is a method of the table (own key only: `constructor` and the like are not). */
export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.hasOwn(METHODS, name);
}
