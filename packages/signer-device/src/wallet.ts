/**
 * @keyline/signer-device/wallet — the device's pure wallet mathematics, for the coordinator.
 *
 * The coordinator builds what the devices verify: the same descriptor parser (so both sides
 * agree on the wallet id and every derived script), the same linear BIP143 sighash and the same
 * strict signature check (so the coordinator checks a device's returned signatures exactly as a
 * device would check a cosigner's). Pure functions and values only: nothing here touches a key
 * file, a secret, a clock or the state directory. The devnet node deliberately does NOT use this
 * entry: it validates signatures with an independent implementation, so a sighash bug here would
 * be caught there, as Bitcoin Core would catch it.
 */
export {
  DESCRIPTOR_REASONS,
  type DerivedScript,
  type DescriptorKey,
  deriveScript,
  descriptorChecksum,
  type Network,
  parseDescriptor,
  type WalletDescriptor,
} from './psbt/descriptor.js';
export { dsha256, parseTx, type RawTx, type TxParseLimits } from './psbt/parse-psbt.js';
export { Bip143Sighash, MAX_MONEY, SIGHASH_ALL, type SighashTx } from './psbt/sighash.js';
export { isLowS, parseDerSignature, verifyInputSignature } from './psbt/signature.js';
