/**
 * The `serve` configuration: a strict zod schema, read from a JSON file, overlaid with CLI
 * overrides, validated as a whole, then deep-frozen. Everything the device pins at enrollment
 * (the coordinator's link key, the three holders' keys, the risk officers' keys and threshold)
 * comes from here, so a bad value must stop the daemon before it opens the serial line.
 * docs/daemon.md §1 documents every field.
 */
import { readFile } from 'node:fs/promises';
import { identifier, NETWORKS } from '@keyline/wire-protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { SignerError } from '../errors.js';

/** Standard serial line rates (termios `B*` constants from 1200 up). */
export const STANDARD_BAUD_RATES = Object.freeze([
  1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600,
  1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000,
] as const);

export const LOG_LEVELS = Object.freeze([
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
] as const);
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Bounds of the numeric settings, as frozen data (docs/daemon.md §1). */
export const CONFIG_LIMITS = Object.freeze({
  maxPathLength: 4096,
  maxOfficers: 16,
  holders: 3,
  activationTtlSeconds: Object.freeze({ min: 30, max: 86_400 }),
  changeWindow: Object.freeze({ min: 1, max: 1_000_000 }),
  refusalLockoutMax: Object.freeze({ min: 1, max: 1_000_000 }),
  refusalLockoutWindowSeconds: Object.freeze({ min: 1, max: 30 * 86_400 }),
  maxConfigFileBytes: 1024 * 1024,
});

const HEX32 = /^[0-9a-fA-F]{64}$/;

/** An absolute path without NUL bytes: a daemon under systemd runs with `/` as its cwd. */
const absolutePath = z
  .string()
  .min(1)
  .max(CONFIG_LIMITS.maxPathLength)
  .refine((p) => p.startsWith('/'), { message: 'expected an absolute path' })
  .refine((p) => !p.includes('\0'), { message: 'expected a path without NUL bytes' });

const intIn = (r: { readonly min: number; readonly max: number }) =>
  z.number().int().min(r.min).max(r.max);

/** 32 bytes as 64 hex digits, normalised to lower case. */
const hex32 = z
  .string()
  .regex(HEX32, { message: 'expected 64 hex digits (32 bytes)' })
  .transform((s) => s.toLowerCase());

function isValidEd25519PublicKey(hex: string): boolean {
  try {
    const point = ed25519.Point.fromHex(hex);
    return !point.isSmallOrder();
  } catch {
    return false;
  }
}

/** An Ed25519 public key: on the curve and not of small order (such a key verifies forgeries). */
const ed25519Key = hex32.refine(isValidEd25519PublicKey, {
  message: 'expected an Ed25519 public key on the curve, not of small order',
});

/** The coordinator's X25519 static key: the all-zero key would make every DH output zero. */
const linkKey = hex32.refine((h) => !/^0+$/.test(h), {
  message: 'expected a non-zero X25519 public key',
});

const pinnedKey = z.strictObject({ keyId: identifier, publicKey: ed25519Key });

function distinct<T>(items: readonly T[], key: (t: T) => string): boolean {
  return new Set(items.map(key)).size === items.length;
}

export const daemonConfigSchema = z
  .strictObject({
    /** Serial device path (`/dev/ttyAMA0`, `/dev/ttyGS0`, a pty link in tests). */
    port: absolutePath,
    baud: z
      .number()
      .refine((n) => (STANDARD_BAUD_RATES as readonly number[]).includes(n), {
        message: 'expected a standard baud rate',
      })
      .default(115200),
    keyFile: absolutePath,
    stateDir: absolutePath,
    network: z.enum(NETWORKS),
    deviceId: identifier,
    coordinatorLinkKey: linkKey,
    holders: z.array(pinnedKey).length(CONFIG_LIMITS.holders),
    /**
     * The key id of the holder who keeps this device's passphrase. An activation signed by that
     * holder is refused, so unlock (knowledge of the passphrase) and activation take two people.
     */
    ownHolderKeyId: identifier.nullable().default(null),
    officers: z.array(pinnedKey).min(1).max(CONFIG_LIMITS.maxOfficers),
    officerThreshold: z.number().int().min(1).max(CONFIG_LIMITS.maxOfficers),
    activationTtlSeconds: intIn(CONFIG_LIMITS.activationTtlSeconds),
    changeWindow: intIn(CONFIG_LIMITS.changeWindow),
    refusalLockout: z.strictObject({
      max: intIn(CONFIG_LIMITS.refusalLockoutMax),
      windowSeconds: intIn(CONFIG_LIMITS.refusalLockoutWindowSeconds),
    }),
    /** NOT for production: automation and tests only (refused on mainnet). */
    passphraseFile: absolutePath.optional(),
    logLevel: z.enum(LOG_LEVELS).default('info'),
  })
  .superRefine((c, ctx) => {
    const issue = (path: (string | number)[], message: string): void => {
      ctx.addIssue({ code: 'custom', path, message });
    };
    if (!distinct(c.holders, (h) => h.keyId)) issue(['holders'], 'expected distinct keyIds');
    if (!distinct(c.holders, (h) => h.publicKey)) {
      issue(['holders'], 'expected distinct public keys');
    }
    if (!distinct(c.officers, (o) => o.keyId)) issue(['officers'], 'expected distinct keyIds');
    if (!distinct(c.officers, (o) => o.publicKey)) {
      issue(['officers'], 'expected distinct public keys');
    }
    if (c.ownHolderKeyId !== null && !c.holders.some((h) => h.keyId === c.ownHolderKeyId)) {
      issue(['ownHolderKeyId'], 'expected the keyId of one of the pinned holders');
    }
    if (c.officerThreshold > c.officers.length) {
      issue(['officerThreshold'], `expected at most ${c.officers.length} (the number of officers)`);
    }
    if (c.passphraseFile !== undefined && c.network === 'mainnet') {
      issue(['passphraseFile'], 'expected no passphrase file on mainnet (automation/tests only)');
    }
  });

export type DaemonConfigInput = z.input<typeof daemonConfigSchema>;
type ParsedConfig = z.output<typeof daemonConfigSchema>;
type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
/** The validated configuration, deep-frozen. Keys stay lower-case hex; see `pinnedKeys`. */
export type DaemonConfig = DeepReadonly<ParsedConfig>;

/**
 * What the CLI may override: the scalar, non-pinned settings. Pinned keys, holders, officers and
 * limits come only from the file an operator reviewed. `undefined` means "not given".
 * `baud` may arrive as the decimal string commander hands over.
 */
export interface ConfigOverrides {
  readonly port?: string | undefined;
  readonly baud?: number | string | undefined;
  readonly keyFile?: string | undefined;
  readonly stateDir?: string | undefined;
  readonly passphraseFile?: string | undefined;
  readonly logLevel?: string | undefined;
}
export const OVERRIDABLE_KEYS = Object.freeze([
  'port',
  'baud',
  'keyFile',
  'stateDir',
  'passphraseFile',
  'logLevel',
] as const);

const PLACE = 'daemon/config';

function badConfig(message: string, detail: Record<string, unknown> = {}): never {
  throw new SignerError('BAD_CONFIG', `${PLACE}: ${message}`, detail);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function applyOverrides(file: Record<string, unknown>, overrides: ConfigOverrides): object {
  const merged: Record<string, unknown> = { ...file };
  const given = overrides as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(OVERRIDABLE_KEYS as readonly string[]).includes(key)) {
      badConfig(`expected an override among ${OVERRIDABLE_KEYS.join(', ')}, got "${key}"`, {
        fields: [`override.${key}`],
      });
    }
    const value = given[key];
    if (value === undefined) continue;
    if (key === 'baud' && typeof value === 'string') {
      if (!/^[0-9]{1,8}$/.test(value)) {
        badConfig('override baud: expected a decimal number', { fields: ['override.baud'] });
      }
      merged[key] = Number.parseInt(value, 10);
    } else {
      merged[key] = value;
    }
  }
  return merged;
}

/**
 * Validate a configuration object (the parsed JSON file) with CLI overrides on top; returns it
 * deep-frozen. Throws BAD_CONFIG whose message and `detail.fields` name every bad field's path
 * and what was expected — never a value.
 */
export function parseConfig(value: unknown, overrides: ConfigOverrides = {}): DaemonConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    badConfig(`expected a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  if (typeof overrides !== 'object' || overrides === null) {
    badConfig(`expected overrides as an object, got ${typeof overrides}`);
  }
  const merged = applyOverrides(value as Record<string, unknown>, overrides);
  const parsed = daemonConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => i.path.map(String).join('.') || '$');
    const described = parsed.error.issues
      .slice(0, 32)
      .map((i) => `${i.path.map(String).join('.') || '$'}: ${i.message}`)
      .join('; ');
    badConfig(`expected a valid serve configuration, got ${described}`, {
      fields: [...new Set(fields)],
    });
  }
  return deepFreeze(parsed.data) as DaemonConfig;
}

/**
 * Read a JSON configuration file (at most 1 MiB) and parse it with `parseConfig`. A file that
 * cannot be read is IO; a file that is not JSON is BAD_CONFIG (the parser's message, which may
 * quote file content, is not repeated).
 */
export async function loadConfigFile(
  path: string,
  overrides: ConfigOverrides = {},
): Promise<DaemonConfig> {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    badConfig('expected a configuration file path');
  }
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > CONFIG_LIMITS.maxConfigFileBytes) {
      badConfig(
        `${path}: expected at most ${CONFIG_LIMITS.maxConfigFileBytes} bytes, got ${bytes.length}`,
      );
    }
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    if (e instanceof SignerError) throw e;
    if (e instanceof TypeError) badConfig(`${path}: expected UTF-8 text`);
    const code = (e as { code?: unknown }).code;
    throw new SignerError(
      'IO',
      `${PLACE}: expected a readable file at ${path}, got ${typeof code === 'string' ? code : 'an error'}`,
      {},
      { cause: e },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    badConfig(`${path}: expected JSON, got text that does not parse`);
  }
  return parseConfig(json, overrides);
}

export interface PinnedKey {
  readonly keyId: string;
  readonly publicKey: Uint8Array;
}
export interface PinnedKeys {
  readonly coordinatorLinkKey: Uint8Array;
  readonly holders: readonly PinnedKey[];
  readonly officers: readonly PinnedKey[];
}

/** Fresh byte copies of the pinned public keys (the frozen config keeps them as hex). */
export function pinnedKeys(config: DaemonConfig): PinnedKeys {
  const key = (k: { readonly keyId: string; readonly publicKey: string }): PinnedKey => ({
    keyId: k.keyId,
    publicKey: hexToBytes(k.publicKey),
  });
  return {
    coordinatorLinkKey: hexToBytes(config.coordinatorLinkKey),
    holders: config.holders.map(key),
    officers: config.officers.map(key),
  };
}
