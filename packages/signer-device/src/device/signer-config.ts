/**
 * What the signer is configured with (pinned at enrollment, reviewed by an operator), validated
 * once and frozen. `signerConfigFromDaemon` maps the daemon's serve configuration onto it.
 */
import { identifier, NETWORKS } from '@keyline/wire-protocol';
import type { DaemonConfig } from '../daemon/config.js';
import { pinnedKeys } from '../daemon/config.js';
import { SignerError } from '../errors.js';
import type { Network } from '../keystore/account.js';
import {
  DEFAULT_PSBT_LIMITS,
  DEFAULT_TX_RULES,
  type PsbtLimits,
  type TxRules,
} from '../psbt/limits.js';
import { MAX_ACTIVATION_TTL } from './activation.js';
import { checkPinnedSigners, isKeyId, type PinnedKey } from './pinned-keys.js';

export interface SignerConfig {
  readonly deviceId: string;
  readonly network: Network;
  /** Firmware text for get_info (1..64 characters). */
  readonly firmware: string;
  readonly holders: readonly PinnedKey[];
  readonly officers: readonly PinnedKey[];
  /** M of the officers for a policy update. */
  readonly officerThreshold: number;
  /** The holder key of this device's own holder: refused as the activator. Null if unknown. */
  readonly ownHolderKeyId: string | null;
  readonly activationTtlSeconds: number;
  /** Upper bound on the policy's change window. */
  readonly changeWindow: number;
  /** More than `max` refusals within `windowSeconds` pause the device. */
  readonly refusalLockout: { readonly max: number; readonly windowSeconds: number };
  readonly psbtLimits: PsbtLimits;
  readonly txRules: TxRules;
}

export type SignerConfigInput = Omit<SignerConfig, 'firmware' | 'psbtLimits' | 'txRules'> & {
  readonly firmware?: string;
  readonly psbtLimits?: PsbtLimits;
  readonly txRules?: TxRules;
};

export const DEFAULT_FIRMWARE = 'keyline-signer/0.1.0';

const PLACE = 'signer/config';

function bad(message: string): never {
  throw new SignerError('BAD_CONFIG', `${PLACE}: ${message}`);
}

function intIn(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    bad(
      `expected ${name} an integer in ${min}..${max}, got ${typeof v === 'number' ? v : typeof v}`,
    );
  }
  return v;
}

/** Validate and freeze (copies of the key bytes). Throws BAD_CONFIG naming the field. */
export function checkSignerConfig(input: SignerConfigInput): SignerConfig {
  if (typeof input !== 'object' || input === null) bad(`expected an object, got ${typeof input}`);
  if (!identifier.safeParse(input.deviceId).success) bad('expected deviceId an identifier');
  if (!(NETWORKS as readonly unknown[]).includes(input.network)) {
    bad(`expected network one of ${NETWORKS.join(', ')}`);
  }
  const firmware = input.firmware ?? DEFAULT_FIRMWARE;
  if (typeof firmware !== 'string' || firmware.length < 1 || firmware.length > 64) {
    bad('expected firmware text of 1..64 characters');
  }
  checkPinnedSigners(PLACE, { holders: input.holders, officers: input.officers });
  intIn('officerThreshold', input.officerThreshold, 1, input.officers.length);
  if (input.ownHolderKeyId !== null && !isKeyId(input.ownHolderKeyId)) {
    bad('expected ownHolderKeyId a key id or null');
  }
  if (
    input.ownHolderKeyId !== null &&
    !input.holders.some((h) => h.keyId === input.ownHolderKeyId)
  ) {
    bad('expected ownHolderKeyId among the pinned holders');
  }
  intIn('activationTtlSeconds', input.activationTtlSeconds, 1, MAX_ACTIVATION_TTL);
  intIn('changeWindow', input.changeWindow, 1, 1_000_000);
  const lockout = input.refusalLockout;
  if (typeof lockout !== 'object' || lockout === null)
    bad('expected refusalLockout {max, windowSeconds}');
  intIn('refusalLockout.max', lockout.max, 0, 10_000);
  intIn('refusalLockout.windowSeconds', lockout.windowSeconds, 1, 2 ** 40);
  const copy = (k: PinnedKey): PinnedKey =>
    Object.freeze({ keyId: k.keyId, publicKey: Uint8Array.from(k.publicKey) });
  return Object.freeze({
    deviceId: input.deviceId,
    network: input.network,
    firmware,
    holders: Object.freeze(input.holders.map(copy)),
    officers: Object.freeze(input.officers.map(copy)),
    officerThreshold: input.officerThreshold,
    ownHolderKeyId: input.ownHolderKeyId,
    activationTtlSeconds: input.activationTtlSeconds,
    changeWindow: input.changeWindow,
    refusalLockout: Object.freeze({ max: lockout.max, windowSeconds: lockout.windowSeconds }),
    psbtLimits: input.psbtLimits ?? DEFAULT_PSBT_LIMITS,
    txRules: input.txRules ?? DEFAULT_TX_RULES,
  });
}

/** The signer's part of the daemon configuration. */
export function signerConfigFromDaemon(
  config: DaemonConfig,
  ownHolderKeyId: string | null,
): SignerConfig {
  const keys = pinnedKeys(config);
  return checkSignerConfig({
    deviceId: config.deviceId,
    network: config.network,
    holders: keys.holders,
    officers: keys.officers,
    officerThreshold: config.officerThreshold,
    ownHolderKeyId,
    activationTtlSeconds: config.activationTtlSeconds,
    changeWindow: config.changeWindow,
    refusalLockout: config.refusalLockout,
  });
}
