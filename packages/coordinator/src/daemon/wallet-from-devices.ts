/**
 * The hot wallet from the enrolled devices: exactly three, each with its account key origin
 * (`[fingerprint/48'/coin'/0'/2']xpub`), give the 2-of-3 descriptor (vault/wallet.ts). Fewer than
 * three is a configuration error: the coordinator does not pay from a wallet it cannot describe.
 */
import type { Kysely } from 'kysely';
import type { ChainNetwork } from '../chain/interface.js';
import { CoordinatorError } from '../errors.js';
import type { Schema } from '../storage/schema.js';
import { buildWallet, type VaultWallet } from '../vault/wallet.js';

export interface EnrolledDevice {
  readonly id: string;
  readonly serialPath: string;
  readonly baud: number;
  readonly linkPublicKey: Uint8Array;
  readonly fingerprint: Uint8Array;
  readonly xpub: string;
}

export const ACCOUNT_PATH = (network: ChainNetwork) =>
  `m/48'/${network === 'mainnet' ? 0 : 1}'/0'/2'`;

export async function enrolledDevices(db: Kysely<Schema>): Promise<EnrolledDevice[]> {
  const rows = await db
    .selectFrom('devices')
    .selectAll()
    .orderBy('enrolled_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    serialPath: r.serial_path,
    baud: Number(r.baud),
    linkPublicKey: new Uint8Array(r.link_public_key),
    fingerprint: new Uint8Array(r.fingerprint),
    xpub: r.xpub,
  }));
}

export async function loadWallet(
  db: Kysely<Schema>,
  network: ChainNetwork,
): Promise<{ wallet: VaultWallet; devices: EnrolledDevice[] }> {
  const devices = await enrolledDevices(db);
  if (devices.length !== 3) {
    throw new CoordinatorError(
      'BAD_CONFIG',
      `daemon/wallet: expected exactly three enrolled devices (keyline-coordinator device enroll), got ${devices.length}`,
    );
  }
  const wallet = buildWallet(
    devices.map((d) => ({
      fingerprint: d.fingerprint,
      path: ACCOUNT_PATH(network),
      xpub: d.xpub,
    })),
    network,
  );
  return { wallet, devices };
}
