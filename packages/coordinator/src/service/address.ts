/**
 * Addresses ⇄ scriptPubKeys for the coordinator's network, through @scure/btc-signer. An address
 * of another network (a mainnet address on a regtest coordinator, a testnet one on mainnet) is
 * malformed input, never silently converted.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { Address, NETWORK, OutScript, TEST_NETWORK } from '@scure/btc-signer';
import type { ChainNetwork } from '../chain/interface.js';
import { CoordinatorError } from '../errors.js';

type BtcNetwork = typeof NETWORK;

/** Regtest: bech32 `bcrt`, base58 versions as testnet (Bitcoin Core chainparams.cpp). */
const REGTEST_NETWORK: BtcNetwork = Object.freeze({ ...TEST_NETWORK, bech32: 'bcrt' });

export function btcNetwork(network: ChainNetwork): BtcNetwork {
  switch (network) {
    case 'mainnet':
      return NETWORK;
    case 'testnet':
    case 'signet':
      return TEST_NETWORK;
    case 'regtest':
      return REGTEST_NETWORK;
  }
}

export function addressToScript(network: ChainNetwork, address: string): Uint8Array {
  if (typeof address !== 'string' || address.length < 14 || address.length > 90) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `address: expected a ${network} address of 14..90 characters, got ${typeof address === 'string' ? `${address.length} characters` : typeof address}`,
    );
  }
  try {
    return OutScript.encode(Address(btcNetwork(network)).decode(address));
  } catch (e) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `address: expected a valid ${network} address, got '${address.slice(0, 90)}' (${e instanceof Error ? e.message.slice(0, 120) : 'invalid'})`,
    );
  }
}

/** The address of a standard script, or `script:<hex>` for one without an address form. */
export function scriptToAddress(network: ChainNetwork, script: Uint8Array): string {
  try {
    return Address(btcNetwork(network)).encode(OutScript.decode(script));
  } catch {
    return `script:${bytesToHex(script)}`;
  }
}
