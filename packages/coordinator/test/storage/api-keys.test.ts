import { sha256 } from '@noble/hashes/sha2.js';
import { base64urlnopad } from '@scure/base';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import {
  API_KEY_PATTERN,
  apiKeyStore,
  createApiKey,
  findApiKeyByHash,
  generateApiKey,
  hashApiKey,
  listApiKeys,
  parseApiKey,
  revokeApiKey,
} from '../../src/storage/api-keys.js';
import type { Database } from '../../src/storage/database.js';
import type { ApiKeyRole } from '../../src/storage/schema-api.js';
import { BACKENDS, type TestBackend, unique } from './backends.js';

const AT = new Date(1_700_000_000_000);
const LATER = new Date(1_700_000_100_000);
const catchErr = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('key format (pure)', () => {
  it('a fresh key is kl_ + 43 base64url characters and its hash is SHA-256 of its 32 bytes', () => {
    const { secret, hash } = generateApiKey();
    expect(secret).toMatch(API_KEY_PATTERN);
    const bytes = base64urlnopad.decode(secret.slice(3));
    expect(bytes.length).toBe(32);
    expect(hash).toEqual(sha256(bytes));
    expect(hashApiKey(secret)).toEqual(hash);
  });

  it('property: every 32-byte key round-trips; flipping any character changes or kills it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(42), (bytes, i) => {
        const secret = `kl_${base64urlnopad.encode(bytes)}`;
        expect(parseApiKey(secret)).toEqual(bytes);
        const c = secret[3 + i]!;
        const other = `${secret.slice(0, 3 + i)}${c === 'A' ? 'B' : 'A'}${secret.slice(4 + i)}`;
        const h = hashApiKey(other);
        if (h !== undefined) expect(h).not.toEqual(hashApiKey(secret));
      }),
      { numRuns: 200 },
    );
  });

  it('property: arbitrary strings never parse unless they are the one canonical spelling', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        const bytes = parseApiKey(s);
        if (bytes !== undefined) expect(`kl_${base64urlnopad.encode(bytes)}`).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['no prefix', 'A'.repeat(43)],
    ['wrong prefix', `KL_${'A'.repeat(43)}`],
    ['short', `kl_${'A'.repeat(42)}`],
    ['long', `kl_${'A'.repeat(44)}`],
    ['padded', `kl_${'A'.repeat(43)}=`],
    ['standard base64 alphabet', `kl_${'+'.repeat(43)}`],
    ['non-zero spare bits', `kl_${'A'.repeat(42)}B`],
    ['whitespace', ` kl_${'A'.repeat(43)}`],
    ['not a string', 42],
  ])('%s is refused', (_name, s) => {
    expect(parseApiKey(s)).toBeUndefined();
    expect(hashApiKey(s)).toBeUndefined();
  });
});

describe.each(BACKENDS)('api keys on $name', ({ make }) => {
  let backend: TestBackend;
  let database: Database;
  beforeAll(async () => {
    backend = await make();
    database = await backend.open();
  });
  afterAll(async () => {
    await database?.close();
    await backend?.cleanup();
  });

  it('create stores the hash only, never the key; lookup by hash finds the record', async () => {
    const name = unique('exchange');
    const { record, secret } = await createApiKey(database.db, { name, role: 'exchange' }, AT);
    expect(record).toEqual({
      id: record.id,
      name,
      role: 'exchange',
      createdAt: 1_700_000_000_000n,
      revokedAt: null,
    });
    const row = await database.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', record.id)
      .executeTakeFirstOrThrow();
    expect(new Uint8Array(row.key_hash)).toEqual(hashApiKey(secret));
    // Neither the key string nor its raw bytes appear in any column.
    const stored = JSON.stringify(row, (_k, v) =>
      typeof v === 'bigint'
        ? v.toString()
        : v instanceof Uint8Array
          ? Buffer.from(v).toString('hex')
          : v,
    );
    const raw = Buffer.from(parseApiKey(secret)!).toString('hex');
    expect(stored).not.toContain(secret.slice(3));
    expect(stored).not.toContain(raw);
    expect(await findApiKeyByHash(database.db, hashApiKey(secret)!)).toEqual(record);
  });

  it('an unknown hash finds nothing; a malformed hash is BAD_REQUEST', async () => {
    expect(await findApiKeyByHash(database.db, new Uint8Array(32).fill(7))).toBeUndefined();
    const e = await catchErr(findApiKeyByHash(database.db, new Uint8Array(31)));
    expect(isCoordinatorError(e, 'BAD_REQUEST')).toBe(true);
  });

  it('revoke sets revoked_at once; again is a no-op; unknown id is NOT_FOUND', async () => {
    const { record, secret } = await createApiKey(
      database.db,
      { name: unique('ops'), role: 'operator' },
      AT,
    );
    const r1 = await revokeApiKey(database.db, record.id, AT);
    expect(r1.revokedAt).toBe(1_700_000_000_000n);
    const r2 = await revokeApiKey(database.db, record.id, LATER);
    expect(r2.revokedAt).toBe(1_700_000_000_000n);
    expect((await findApiKeyByHash(database.db, hashApiKey(secret)!))?.revokedAt).toBe(
      1_700_000_000_000n,
    );
    const e = await catchErr(revokeApiKey(database.db, 9_999_999n, AT));
    expect(isCoordinatorError(e, 'NOT_FOUND')).toBe(true);
  });

  it('list returns every key oldest first, without hashes', async () => {
    const a = await createApiKey(database.db, { name: unique('a'), role: 'admin' }, AT);
    const b = await createApiKey(database.db, { name: unique('b'), role: 'exchange' }, AT);
    const list = await listApiKeys(database.db);
    const ids = list.map((k) => k.id);
    expect(ids.indexOf(a.record.id)).toBeLessThan(ids.indexOf(b.record.id));
    for (const k of list)
      expect(Object.keys(k).sort()).toEqual(['createdAt', 'id', 'name', 'revokedAt', 'role']);
  });

  it('bad input is refused before SQL', async () => {
    for (const input of [
      { name: '', role: 'exchange' },
      { name: 'has space', role: 'exchange' },
      { name: 'x'.repeat(65), role: 'exchange' },
      { name: 'ok', role: 'root' },
    ]) {
      const e = await catchErr(
        createApiKey(database.db, input as { name: string; role: ApiKeyRole }, AT),
      );
      expect(isCoordinatorError(e, 'BAD_REQUEST'), JSON.stringify(input)).toBe(true);
    }
  });

  it('the table itself refuses an unknown role, a short hash, a duplicate hash and revoked < created', async () => {
    const ok = {
      name: 'raw',
      role: 'exchange' as const,
      key_hash: new Uint8Array(32).fill(1),
      created_at: 10n,
      revoked_at: null,
    };
    await database.db.insertInto('api_keys').values(ok).execute();
    const attempts = [
      { ...ok, key_hash: new Uint8Array(32).fill(2), role: 'root' as ApiKeyRole },
      { ...ok, key_hash: new Uint8Array(31).fill(3) },
      { ...ok },
      { ...ok, key_hash: new Uint8Array(32).fill(4), revoked_at: 9n },
    ];
    for (const values of attempts) {
      expect(
        await catchErr(database.db.insertInto('api_keys').values(values).execute()),
      ).toBeDefined();
    }
    const n = await database.db
      .selectFrom('api_keys')
      .select(sql<bigint>`count(*)`.as('n'))
      .where('name', '=', 'raw')
      .executeTakeFirstOrThrow();
    expect(BigInt(n.n)).toBe(1n);
  });

  it('apiKeyStore adapts the table to the API port with an injected clock', async () => {
    const store = apiKeyStore(database.db, () => LATER);
    const { record, secret } = await store.create({ name: unique('port'), role: 'operator' });
    expect(record.createdAt).toBe(1_700_000_100_000n);
    expect((await store.lookup(hashApiKey(secret)!))?.id).toBe(record.id);
    expect((await store.revoke(record.id)).revokedAt).toBe(1_700_000_100_000n);
    expect((await store.list()).some((k) => k.id === record.id)).toBe(true);
  });
});
