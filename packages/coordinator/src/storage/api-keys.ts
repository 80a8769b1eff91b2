/**
 * API keys of the HTTP API. A key is 32 random bytes, shown once to its holder as
 * `kl_<base64url, no padding>` (46 characters) and never stored: the table keeps SHA-256 of the
 * 32 bytes. A 256-bit random secret cannot be guessed or brute-forced from its hash, so a slow
 * password KDF (scrypt, argon2) would add latency to every request and no security; a stolen
 * table gives no usable key. Lookup is by the hash (an index probe, whose timing reveals nothing
 * about a key the caller does not already hold); the row found is then compared with the
 * computed hash in constant time, so no byte-by-byte comparison of secrets happens in our code.
 */
import { equalBytes } from '@noble/curves/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { base64urlnopad } from '@scure/base';
import type { Kysely, Selectable } from 'kysely';
import { CoordinatorError } from '../errors.js';
import type { Schema } from './schema.js';
import {
  API_KEY_HASH_BYTES,
  API_KEY_ROLES,
  type ApiKeyRole,
  type ApiKeysTable,
} from './schema-api.js';
import { byteString, dbBigint, describe, rowId, text, timeMs } from './validate.js';

export const API_KEY_PREFIX = 'kl_';
/** Random bytes per key. */
export const API_KEY_BYTES = 32;
/** `kl_` + 43 base64url characters (32 bytes, unpadded). */
export const API_KEY_PATTERN = /^kl_[A-Za-z0-9_-]{43}$/;
/** Key names: 1..64 printable ASCII characters, no spaces. */
export const API_KEY_NAME = /^[\x21-\x7e]{1,64}$/;

export interface ApiKeyRecord {
  readonly id: bigint;
  readonly name: string;
  readonly role: ApiKeyRole;
  readonly createdAt: bigint;
  readonly revokedAt: bigint | null;
}

export interface CreatedApiKey {
  readonly record: ApiKeyRecord;
  /** The key itself, `kl_...`: give it to its holder once; it is not stored anywhere. */
  readonly secret: string;
}

/** The 32 key bytes of a well-formed `kl_...` string; undefined for anything else. */
export function parseApiKey(secret: unknown): Uint8Array | undefined {
  if (typeof secret !== 'string' || !API_KEY_PATTERN.test(secret)) return undefined;
  const body = secret.slice(API_KEY_PREFIX.length);
  let bytes: Uint8Array;
  try {
    bytes = base64urlnopad.decode(body);
  } catch {
    return undefined;
  }
  // One spelling per key: the last character's 2 spare bits must be zero.
  if (bytes.length !== API_KEY_BYTES || base64urlnopad.encode(bytes) !== body) return undefined;
  return bytes;
}

/** SHA-256 of a key's bytes: what the table stores and what a lookup searches for. */
export function hashApiKey(secret: unknown): Uint8Array | undefined {
  const bytes = parseApiKey(secret);
  if (bytes === undefined) return undefined;
  const hash = sha256(bytes);
  bytes.fill(0);
  return hash;
}

/** A fresh key and its hash. */
export function generateApiKey(): { secret: string; hash: Uint8Array } {
  const bytes = randomBytes(API_KEY_BYTES);
  const secret = `${API_KEY_PREFIX}${base64urlnopad.encode(bytes)}`;
  const hash = sha256(bytes);
  bytes.fill(0);
  return { secret, hash };
}

function role(place: string, x: unknown): ApiKeyRole {
  if (!(API_KEY_ROLES as readonly unknown[]).includes(x)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected one of ${API_KEY_ROLES.join('|')}, got ${describe(x)}`,
    );
  }
  return x as ApiKeyRole;
}

function keyName(place: string, x: unknown): string {
  const name = text(place, x, 1, 64);
  if (!API_KEY_NAME.test(name)) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected 1..64 printable ASCII characters without spaces, got ${describe(name)}`,
    );
  }
  return name;
}

function recordFromRow(place: string, row: Omit<Selectable<ApiKeysTable>, 'key_hash'>) {
  return Object.freeze({
    id: dbBigint(place, row.id),
    name: row.name,
    role: role(`${place}.role`, row.role),
    createdAt: dbBigint(place, row.created_at),
    revokedAt: row.revoked_at === null ? null : dbBigint(place, row.revoked_at),
  }) satisfies ApiKeyRecord;
}

const RECORD_COLUMNS = ['id', 'name', 'role', 'created_at', 'revoked_at'] as const;

/** Create a key for `name` with `role`; the secret is returned once and never stored. */
export async function createApiKey(
  db: Kysely<Schema>,
  input: { readonly name: string; readonly role: ApiKeyRole },
  at: Date,
): Promise<CreatedApiKey> {
  const place = 'apiKeys/create';
  if (typeof input !== 'object' || input === null) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected {name, role}, got ${describe(input)}`,
    );
  }
  const name = keyName(`${place}.name`, input.name);
  const r = role(`${place}.role`, input.role);
  const createdAt = timeMs(`${place}.at`, at);
  const { secret, hash } = generateApiKey();
  const row = await db
    .insertInto('api_keys')
    .values({ name, role: r, key_hash: hash, created_at: createdAt, revoked_at: null })
    .returning(RECORD_COLUMNS)
    .executeTakeFirstOrThrow();
  return Object.freeze({ record: recordFromRow(place, row), secret });
}

/** Every key, valid or revoked, oldest first (no hashes). */
export async function listApiKeys(db: Kysely<Schema>): Promise<readonly ApiKeyRecord[]> {
  const rows = await db.selectFrom('api_keys').select(RECORD_COLUMNS).orderBy('id').execute();
  return Object.freeze(rows.map((row) => recordFromRow('apiKeys/list', row)));
}

/**
 * Revoke key `id` at `at`. Revoking a revoked key changes nothing and returns it (the first
 * revocation time stays). NOT_FOUND for an unknown id.
 */
export async function revokeApiKey(
  db: Kysely<Schema>,
  id: bigint,
  at: Date,
): Promise<ApiKeyRecord> {
  const place = 'apiKeys/revoke';
  const keyId = rowId(`${place}.id`, id);
  const revokedAt = timeMs(`${place}.at`, at);
  await db
    .updateTable('api_keys')
    .set({ revoked_at: revokedAt })
    .where('id', '=', keyId)
    .where('revoked_at', 'is', null)
    .execute();
  const row = await db
    .selectFrom('api_keys')
    .select(RECORD_COLUMNS)
    .where('id', '=', keyId)
    .executeTakeFirst();
  if (row === undefined) {
    throw new CoordinatorError('NOT_FOUND', `${place}: expected API key ${keyId}, got none`, {
      id: keyId.toString(),
    });
  }
  return recordFromRow(place, row);
}

/**
 * The key whose SHA-256 is `hash` (revoked or not: the caller decides), or undefined. The row's
 * stored hash is compared with `hash` in constant time before it is trusted.
 */
export async function findApiKeyByHash(
  db: Kysely<Schema>,
  hash: Uint8Array,
): Promise<ApiKeyRecord | undefined> {
  const place = 'apiKeys/find';
  const h = byteString(`${place}.hash`, hash, API_KEY_HASH_BYTES, API_KEY_HASH_BYTES);
  const row = await db
    .selectFrom('api_keys')
    .select([...RECORD_COLUMNS, 'key_hash'])
    .where('key_hash', '=', h)
    .executeTakeFirst();
  if (row === undefined || !equalBytes(new Uint8Array(row.key_hash), h)) return undefined;
  return recordFromRow(place, row);
}

/** The API's key port (see api/auth.ts) backed by this table, with an injected clock. */
export function apiKeyStore(db: Kysely<Schema>, now: () => Date = () => new Date()) {
  return Object.freeze({
    lookup: (hash: Uint8Array) => findApiKeyByHash(db, hash),
    create: (input: { name: string; role: ApiKeyRole }) => createApiKey(db, input, now()),
    list: () => listApiKeys(db),
    revoke: (id: bigint) => revokeApiKey(db, id, now()),
  });
}
