/**
 * The risk engine's configuration: one zod `.strict()` schema, parsed once and deep-frozen.
 * Amounts are satoshis (a safe-integer number or a bigint in, always a bigint out); times are
 * seconds. docs/risk.md §2.
 */
import { z } from 'zod';
import { CoordinatorError } from '../errors.js';

export const MAX_SATS = 2_100_000_000_000_000n;
/** Most entries of one deny list. */
export const MAX_DENY_LIST = 1_000_000;
const YEAR = 366 * 86_400;

/**
 * Satoshis: a bigint in code, a decimal string in JSON files (JSON has no bigint). A JSON number
 * is still read when it is a safe integer (exact), for files written before.
 */
export const sats = z
  .union([
    z.bigint(),
    z.string().regex(/^(0|[1-9][0-9]{0,15})$/, 'expected satoshis as a decimal string'),
    z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  ])
  .transform((v) => BigInt(v))
  .pipe(z.bigint().min(0n).max(MAX_SATS));

/** A scriptPubKey as hex (1..520 bytes); upper case is accepted and lowered. */
export const scriptHex = z
  .string()
  .regex(/^(?:[0-9a-fA-F]{2}){1,520}$/, 'expected a scriptPubKey as 2..1040 hex digits')
  .transform((s) => s.toLowerCase());

const seconds = z.number().int().min(1).max(YEAR);
const holdOrReject = z.enum(['hold', 'reject']);

export const riskConfigSchema = z.strictObject({
  withdrawal: z.strictObject({
    frequency: z.strictObject({
      windowSeconds: seconds,
      maxCount: z.number().int().min(1).max(1_000_000),
      outcome: holdOrReject,
    }),
    largeAmount: z.strictObject({ threshold: sats, outcome: holdOrReject }),
    profitAnomaly: z.strictObject({
      /** Allowed withdrawals in percent of (deposits + realized profit): 150 = 1.5×. */
      factorPercent: z.number().int().min(100).max(1_000_000),
      outcome: holdOrReject,
    }),
    credentialChangeCoolingSeconds: seconds,
    firstTimeDestination: z.enum(['hold', 'allow']),
    denyScriptPubKeys: z.array(scriptHex).max(MAX_DENY_LIST),
    globalOutflow: z.strictObject({
      windowSeconds: seconds,
      maxAmount: sats,
      outcome: holdOrReject,
    }),
  }),
  deposit: z.strictObject({
    denySourceScriptPubKeys: z.array(scriptHex).max(MAX_DENY_LIST),
    minAmount: sats,
    largeAmount: sats,
    frequency: z.strictObject({
      windowSeconds: seconds,
      maxCount: z.number().int().min(1).max(1_000_000),
    }),
  }),
});

declare const parsedConfig: unique symbol;
/** A config that went through `parseRiskConfig`: validated and deep-frozen. */
export type RiskConfig = z.output<typeof riskConfigSchema> & { readonly [parsedConfig]: true };
export type RiskConfigInput = z.input<typeof riskConfigSchema>;

interface DenySets {
  readonly withdrawal: ReadonlySet<string>;
  readonly depositSource: ReadonlySet<string>;
}
const denySets = new WeakMap<object, DenySets>();

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function issuesWhere(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '$'} (${i.message})`)
    .join(', ');
}

/** Validate and freeze a risk config. Throws BAD_CONFIG naming the first offending fields. */
export function parseRiskConfig(input: unknown): RiskConfig {
  const parsed = riskConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `risk/config: expected a risk config, got issues at ${issuesWhere(parsed.error)}`,
    );
  }
  const config = deepFreeze(parsed.data) as RiskConfig;
  denySets.set(
    config,
    Object.freeze({
      withdrawal: new Set(config.withdrawal.denyScriptPubKeys),
      depositSource: new Set(config.deposit.denySourceScriptPubKeys),
    }),
  );
  return config;
}

/** The deny lists of a parsed config as sets; a config not made by parseRiskConfig is refused. */
export function denyListsOf(config: RiskConfig): DenySets {
  const sets = typeof config === 'object' && config !== null ? denySets.get(config) : undefined;
  if (sets === undefined) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      'risk/config: expected a config returned by parseRiskConfig, got another value',
    );
  }
  return sets;
}
