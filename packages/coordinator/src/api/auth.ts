/**
 * Authentication and authorisation of API requests: `Authorization: Bearer kl_...`, the key's
 * SHA-256 looked up through an injected port, then the route's role list. Pure apart from the
 * port call; the fastify hooks in server.ts only carry the result.
 */
import type { ApiKeyRecord, CreatedApiKey } from '../storage/api-keys.js';
import { hashApiKey } from '../storage/api-keys.js';
import type { ApiKeyRole } from '../storage/schema-api.js';

/** The key store the API needs. storage/api-keys.ts `apiKeyStore(db)` implements it. */
export interface ApiKeyStore {
  /** The key whose SHA-256 is `hash`, revoked or not; undefined when none. */
  lookup(hash: Uint8Array): Promise<ApiKeyRecord | undefined>;
  create(input: { name: string; role: ApiKeyRole }): Promise<CreatedApiKey>;
  list(): Promise<readonly ApiKeyRecord[]>;
  /** NOT_FOUND (CoordinatorError) when unknown; a revoked key stays revoked. */
  revoke(id: bigint): Promise<ApiKeyRecord>;
}

export interface Principal {
  readonly keyId: bigint;
  readonly name: string;
  readonly role: ApiKeyRole;
}

/** Who may call a route: anyone, or a key whose role is listed (admin is always listed). */
export type Access =
  | { readonly kind: 'public' }
  | { readonly kind: 'roles'; readonly roles: readonly ApiKeyRole[] };

export const PUBLIC: Access = Object.freeze({ kind: 'public' });
export function roles(...r: readonly ApiKeyRole[]): Access {
  const list: ApiKeyRole[] = r.includes('admin') ? [...r] : [...r, 'admin'];
  return Object.freeze({ kind: 'roles', roles: Object.freeze(list) });
}

export type AuthResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly message: string };

const BEARER = /^Bearer +(\S+)$/i;

/**
 * Who sent this request. Never puts the header's value in a message: a mistyped or leaked key
 * must not reach a log or a response.
 */
export async function authenticate(
  header: string | string[] | undefined,
  store: Pick<ApiKeyStore, 'lookup'>,
): Promise<AuthResult> {
  if (header === undefined || header === '') {
    return {
      ok: false,
      message: 'auth: expected an Authorization: Bearer kl_... header, got none',
    };
  }
  if (typeof header !== 'string') {
    return { ok: false, message: 'auth: expected one Authorization header, got several' };
  }
  const token = BEARER.exec(header)?.[1];
  const hash = token === undefined ? undefined : hashApiKey(token);
  if (hash === undefined) {
    return {
      ok: false,
      message:
        'auth: expected Authorization: Bearer kl_<43 base64url characters>, got another form',
    };
  }
  const record = await store.lookup(hash);
  if (record === undefined || record.revokedAt !== null) {
    return { ok: false, message: 'auth: expected a valid API key, got an unknown or revoked key' };
  }
  return {
    ok: true,
    principal: Object.freeze({ keyId: record.id, name: record.name, role: record.role }),
  };
}

export function allowed(access: Access, principal: Principal | null): boolean {
  if (access.kind === 'public') return true;
  return principal !== null && access.roles.includes(principal.role);
}

/** How an operator action is attributed in the service's records: `name#keyId`. */
export const actor = (p: Principal): string => `${p.name}#${p.keyId}`;
