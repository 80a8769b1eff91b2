/**
 * Checks of the devices' `sign_psbt` replies before anything is combined: each reply must match
 * the wire schema, cover every input exactly once, and each signature must be strict DER with
 * SIGHASH_ALL and low S, by a key of that input's script, and verify against the BIP143 digest
 * the coordinator computed itself. One device signs with one wallet key throughout, and the two
 * devices with two different keys. Every refusal is a coded error naming the device and input.
 * Pure. docs/vault.md §5.
 */
import {
  isLowS,
  parseDerSignature,
  SIGHASH_ALL,
  verifyInputSignature,
} from '@keyline/signer-device/wallet';
import { inputSignature, MAX_SIGNATURES } from '@keyline/wire-protocol';
import { equalBytes } from '@noble/curves/utils.js';
import { z } from 'zod';
import { CoordinatorError } from '../errors.js';

const PLACE = 'vault/finalize';

/** Why a reply or signature was refused (`detail.reason`). Never reused. */
export const FINALIZE_REASONS = Object.freeze({
  /** Not two replies, or one device twice. */
  DEVICE_COUNT: 'device_count',
  /** The reply does not match the sign_psbt result schema. */
  BAD_REPLY: 'bad_reply',
  /** A signature for an input the transaction does not have. */
  INPUT_OUT_OF_RANGE: 'input_out_of_range',
  /** Two signatures of one device for one input. */
  DUPLICATE_INPUT: 'duplicate_input',
  /** No signature of a device for an input. */
  MISSING_INPUT: 'missing_input',
  /** The public key is not one of the input's three keys. */
  FOREIGN_KEY: 'foreign_key',
  /** One device's signatures are by different keys of the wallet. */
  MIXED_KEYS: 'mixed_keys',
  /** Both devices signed with the same wallet key. */
  DUPLICATE_KEY: 'duplicate_key',
  /** Not a strict DER signature (BIP66) followed by a sighash byte. */
  NOT_DER: 'not_der',
  /** A sighash type other than SIGHASH_ALL. */
  WRONG_SIGHASH: 'wrong_sighash',
  /** A high-S (malleated) signature. */
  HIGH_S: 'high_s',
  /** Does not verify against the input's BIP143 digest and key. */
  INVALID_SIGNATURE: 'invalid_signature',
  /** The PSBT is not one of this wallet (our own bytes disagree with the descriptor). */
  BAD_PSBT: 'bad_psbt',
} as const);
export type FinalizeReason = (typeof FINALIZE_REASONS)[keyof typeof FINALIZE_REASONS];

/** One device's reply as the signing orchestrator received it. */
export interface DeviceReply {
  /** The device's id (as pinned at enrollment): 1..64 characters. */
  readonly deviceId: string;
  /** The `signatures` of its `sign_psbt` result, unchecked. */
  readonly signatures: unknown;
}

/** The wire schema of a `sign_psbt` reply's `signatures`. */
const signaturesSchema = z.array(inputSignature).max(MAX_SIGNATURES);

/** What the coordinator knows of each input, from the PSBT and the descriptor. */
export interface InputKeys {
  /** The input's three child keys in descriptor order (`keyPubkeys[i]` is wallet key i's). */
  readonly keyPubkeys: readonly Uint8Array[];
  /** BIP143 SIGHASH_ALL digest of the input. */
  readonly digest: Uint8Array;
}

/** A checked signature of one device. */
export interface CheckedSignature {
  readonly device: string;
  /** Position of the signing key in the descriptor (0..2). */
  readonly keyIndex: number;
  readonly pubkey: Uint8Array;
  readonly signature: Uint8Array;
}

export function refuse(
  reason: FinalizeReason,
  message: string,
  detail: Record<string, unknown> = {},
): CoordinatorError {
  // BAD_REQUEST: the closest existing code (a device's reply that is not what was asked for).
  return new CoordinatorError('BAD_REQUEST', `${PLACE}/${message}`, { reason, ...detail });
}

function checkSignature(
  device: string,
  input: number,
  keys: InputKeys,
  pubkey: Uint8Array,
  signature: Uint8Array,
): number {
  const at = `device '${device}' input ${input}`;
  const detail = { device, input };
  const keyIndex = keys.keyPubkeys.findIndex((k) => equalBytes(k, pubkey));
  if (keyIndex < 0) {
    throw refuse(
      FINALIZE_REASONS.FOREIGN_KEY,
      `${at}: expected a key of the input's script, got another key`,
      detail,
    );
  }
  let parsed: { s: bigint; sighashType: number };
  try {
    parsed = parseDerSignature(signature);
  } catch {
    throw refuse(
      FINALIZE_REASONS.NOT_DER,
      `${at}: expected a strict DER signature with a sighash byte, got ${signature.length} bytes that are not one`,
      detail,
    );
  }
  if (parsed.sighashType !== SIGHASH_ALL) {
    throw refuse(
      FINALIZE_REASONS.WRONG_SIGHASH,
      `${at}: expected sighash type 0x01 (ALL), got 0x${parsed.sighashType.toString(16).padStart(2, '0')}`,
      detail,
    );
  }
  if (!isLowS(parsed.s)) {
    throw refuse(
      FINALIZE_REASONS.HIGH_S,
      `${at}: expected a low-S signature, got a high-S one`,
      detail,
    );
  }
  if (!verifyInputSignature(pubkey, keys.digest, signature)) {
    throw refuse(
      FINALIZE_REASONS.INVALID_SIGNATURE,
      `${at}: expected a signature of the input's BIP143 digest by key ${keyIndex}, got one that does not verify`,
      { ...detail, keyIndex },
    );
  }
  return keyIndex;
}

function checkDeviceId(r: DeviceReply): string {
  const id: unknown = r?.deviceId;
  if (typeof id !== 'string' || id.length < 1 || id.length > 64) {
    throw refuse(
      FINALIZE_REASONS.DEVICE_COUNT,
      'replies: expected a device id of 1..64 characters for each reply',
    );
  }
  return id;
}

/**
 * One device's reply, checked: per input (in input order), the signature and the key it is by.
 * Any fault is a coded error naming the device and the input.
 */
export function checkDeviceReply(r: DeviceReply, inputs: readonly InputKeys[]): CheckedSignature[] {
  const device = checkDeviceId(r);
  const parsed = signaturesSchema.safeParse(r.signatures);
  if (!parsed.success) {
    throw refuse(
      FINALIZE_REASONS.BAD_REPLY,
      `device '${device}': expected sign_psbt signatures [{input, pubkey, signature}], got ${parsed.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .slice(0, 3)
        .join('; ')}`,
      { device },
    );
  }
  const byInput: (CheckedSignature | undefined)[] = new Array(inputs.length).fill(undefined);
  let deviceKey: number | undefined;
  for (const s of parsed.data) {
    const keys = inputs[s.input];
    if (keys === undefined) {
      throw refuse(
        FINALIZE_REASONS.INPUT_OUT_OF_RANGE,
        `device '${device}' input ${s.input}: expected an input 0..${inputs.length - 1}, got one the transaction does not have`,
        { device, input: s.input },
      );
    }
    if (byInput[s.input] !== undefined) {
      throw refuse(
        FINALIZE_REASONS.DUPLICATE_INPUT,
        `device '${device}' input ${s.input}: expected one signature per input, got two`,
        { device, input: s.input },
      );
    }
    const keyIndex = checkSignature(device, s.input, keys, s.pubkey, s.signature);
    if (deviceKey !== undefined && keyIndex !== deviceKey) {
      throw refuse(
        FINALIZE_REASONS.MIXED_KEYS,
        `device '${device}' input ${s.input}: expected every signature by wallet key ${deviceKey}, got one by key ${keyIndex}`,
        { device, input: s.input },
      );
    }
    deviceKey = keyIndex;
    byInput[s.input] = Object.freeze({
      device,
      keyIndex,
      pubkey: s.pubkey.slice(),
      signature: s.signature.slice(),
    });
  }
  const missing = byInput.indexOf(undefined);
  if (missing >= 0) {
    throw refuse(
      FINALIZE_REASONS.MISSING_INPUT,
      `device '${device}' input ${missing}: expected a signature for every input, got none for this one`,
      { device, input: missing },
    );
  }
  return byInput as CheckedSignature[];
}

/**
 * The two replies checked; per input, the two signatures. DEVICE_COUNT unless exactly two replies
 * from two distinct device ids; DUPLICATE_KEY when both signed with the same wallet key.
 */
export function checkReplies(
  replies: readonly DeviceReply[],
  inputs: readonly InputKeys[],
): readonly (readonly [CheckedSignature, CheckedSignature])[] {
  if (!Array.isArray(replies) || replies.length !== 2) {
    throw refuse(
      FINALIZE_REASONS.DEVICE_COUNT,
      `replies: expected the replies of 2 devices, got ${Array.isArray(replies) ? replies.length : typeof replies}`,
    );
  }
  const a = replies[0] as DeviceReply;
  const b = replies[1] as DeviceReply;
  const idA = checkDeviceId(a);
  const idB = checkDeviceId(b);
  if (idA === idB) {
    throw refuse(
      FINALIZE_REASONS.DEVICE_COUNT,
      `replies: expected two different devices, got '${idA}' twice`,
      { device: idA },
    );
  }
  const sa = checkDeviceReply(a, inputs);
  const sb = checkDeviceReply(b, inputs);
  const ka = sa[0]?.keyIndex;
  if (ka !== undefined && ka === sb[0]?.keyIndex) {
    throw refuse(
      FINALIZE_REASONS.DUPLICATE_KEY,
      `device '${idB}' input 0: expected a key other than device '${idA}''s (wallet key ${ka}), got the same key`,
      { device: idB, input: 0 },
    );
  }
  return inputs.map((_, i) => [sa[i], sb[i]] as [CheckedSignature, CheckedSignature]);
}
