import { hexToBytes } from '@noble/hashes/utils.js';
/**
 * The API's request schemas (zod, strict objects): the one description of what the HTTP layer
 * accepts, used both to parse every request and to generate /openapi.json. Money crosses JSON
 * as a decimal string of satoshis (never a JSON number: a double cannot hold every amount, and a
 * parser may round silently) and leaves the parser as a `bigint`.
 */
import { base64 } from '@scure/base';
import { z } from 'zod';
import { MAX_MONEY_SATS } from '../storage/schema.js';
import { API_KEY_ROLES } from '../storage/schema-api.js';
import { WITHDRAWAL_STATES } from '../withdrawal/states.js';

/** The withdrawal states, from the state machine itself. */
export { WITHDRAWAL_STATES } from '../withdrawal/states.js';

export const DEPOSIT_STATES = Object.freeze([
  'seen',
  'delayed',
  'pending',
  'credited',
  'reversed',
  'rejected',
] as const);

/** Printable ASCII without space, `min..max` characters. */
const printable = (min: number, max: number, what: string) =>
  z
    .string()
    .regex(new RegExp(`^[\\x21-\\x7e]{${min},${max}}$`), {
      error: `expected ${what}: ${min}..${max} printable ASCII characters without spaces`,
    })
    .meta({ description: what });

export const userIdSchema = printable(1, 128, 'a user id');
export const withdrawalIdSchema = printable(1, 64, 'a withdrawal id');
export const idempotencyKeySchema = printable(1, 128, 'an idempotency key');
export const noteSchema = z
  .string()
  .min(1)
  .max(1000)
  .meta({ description: 'free text for the audit trail' });

/** A decimal string of satoshis, 1..21e14, no sign, no leading zero. */
export const positiveAmountSchema = z
  .string({ error: 'expected a decimal string of satoshis (amounts are never JSON numbers)' })
  .regex(/^[1-9][0-9]{0,15}$/, {
    error: `expected a decimal string of satoshis in 1..${MAX_MONEY_SATS}, no sign or leading zero`,
  })
  .transform((s) => BigInt(s))
  .refine((n) => n <= MAX_MONEY_SATS, {
    error: `expected at most ${MAX_MONEY_SATS} satoshis (21e14, the money supply)`,
  })
  .meta({ description: 'satoshis as a decimal string, 1..2100000000000000', example: '150000' });

/** Bitcoin addresses (bech32 or base58) are alphanumeric; the service checks the network. */
export const addressSchema = z
  .string()
  .regex(/^[A-Za-z0-9]{14,100}$/, {
    error: 'expected an address: 14..100 letters and digits',
  })
  .meta({ description: 'destination address of the coordinator network' });

const txidSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, { error: 'expected a txid: 64 lowercase hex characters' });

/** A non-negative integer given as a decimal path or query string. */
const decimalInt = (max: number, what: string) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,9})$/, { error: `expected ${what} as a decimal integer` })
    .transform((s) => Number(s))
    .refine((n) => n <= max, { error: `expected ${what} at most ${max}` });

const unixSeconds = z.number().int().min(0).max(253_402_300_799);

export const accountFlagsSchema = z.strictObject({
  passwordChangedAt: unixSeconds
    .optional()
    .meta({ description: "Unix seconds of the user's last password change" }),
  twoFactorChangedAt: unixSeconds
    .optional()
    .meta({ description: "Unix seconds of the user's last 2FA change" }),
  newDevice: z.boolean().meta({ description: 'the request comes from a device new to the user' }),
});

export const EMPTY = z.strictObject({});

// ---- bodies --------------------------------------------------------------------------------

export const depositAddressBody = z.strictObject({ userId: userIdSchema });

export const submitWithdrawalBody = z.strictObject({
  userId: userIdSchema,
  address: addressSchema,
  amount: positiveAmountSchema,
  flags: accountFlagsSchema,
});

export const noteBody = z.strictObject({ note: noteSchema });

/** At most 16 KiB of signed pause approval (CBOR), standard base64. */
const MAX_SIGNED_PAUSE_BYTES = 16 * 1024;
export const pauseBody = z.strictObject({
  reason: z.string().min(1).max(500),
  signedPause: z
    .string()
    .max(Math.ceil(MAX_SIGNED_PAUSE_BYTES / 3) * 4)
    .refine(
      (s) => {
        try {
          return base64.decode(s).length > 0;
        } catch {
          return false;
        }
      },
      { error: 'expected standard padded base64 of the signed pause approval (CBOR)' },
    )
    .transform((s) => base64.decode(s))
    .optional()
    .meta({ description: 'base64 CBOR of a holder/officer-signed pause, forwarded to devices' }),
});

export const resumeBody = EMPTY.optional();

const hexBytes = (n: number, what: string) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-f]{${2 * n}}$`), {
      error: `expected ${what} as ${2 * n} lowercase hex characters`,
    })
    .transform((h) => hexToBytes(h));

/** keyline-signer sign-activation's JSON output, as is. */
export const activateDeviceBody = z.strictObject({
  deviceId: printable(1, 64, 'a device id'),
  challenge: hexBytes(32, 'the challenge'),
  bootNonce: hexBytes(32, 'the boot nonce'),
  expiresAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  holderKeyId: printable(1, 64, 'a holder key id'),
  signature: hexBytes(64, 'the Ed25519 signature'),
});

export const deviceParams = z.strictObject({ id: printable(1, 64, 'a device id') });

export const createApiKeyBody = z.strictObject({
  name: printable(1, 64, 'a key name'),
  role: z.enum(API_KEY_ROLES),
});

// ---- params and queries --------------------------------------------------------------------

export const withdrawalParams = z.strictObject({ id: withdrawalIdSchema });
export const userParams = z.strictObject({ userId: userIdSchema });
export const depositParams = z.strictObject({
  txid: txidSchema,
  vout: decimalInt(4_294_967_295, 'vout'),
});
export const apiKeyParams = z.strictObject({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,17}$/, { error: 'expected a key id as a positive decimal integer' })
    .transform((s) => BigInt(s)),
});

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;
const pageQuery = {
  limit: decimalInt(MAX_PAGE, 'limit')
    .refine((n) => n >= 1, { error: 'expected limit at least 1' })
    .optional()
    .meta({ description: `page size, 1..${MAX_PAGE}, default ${DEFAULT_PAGE}` }),
  after: z.string().min(1).max(256).optional().meta({ description: '`next` of the previous page' }),
};

export const withdrawalListQuery = z.strictObject({
  userId: userIdSchema.optional(),
  state: z.enum(WITHDRAWAL_STATES).optional(),
  ...pageQuery,
});

export const depositListQuery = z.strictObject({
  userId: userIdSchema.optional(),
  state: z.enum(DEPOSIT_STATES).optional(),
  ...pageQuery,
});
