/**
 * Fee rates in satoshis per 1000 virtual bytes, as Core's CFeeRate (src/policy/feerate.cpp).
 */
import { COIN } from '../consensus/params.js';

/** CFeeRate::GetFee: ceil(rate × size / 1000); at least 1 sat for a positive rate and size. */
export function feeForSize(satPerKvB: bigint, vsize: number): bigint {
  const size = BigInt(vsize);
  if (satPerKvB <= 0n || size === 0n) return 0n;
  return (satPerKvB * size + 999n) / 1000n;
}

/** CFeeRate(fee, size): fee × 1000 / size, truncated. */
export function feeRateOf(fee: bigint, vsize: number): bigint {
  if (vsize <= 0) return 0n;
  return (fee * 1000n) / BigInt(vsize);
}

/** CFeeRate::ToString: "0.00001000 BTC/kvB". */
export function feeRateToString(satPerKvB: bigint): string {
  return `${satPerKvB / COIN}.${(satPerKvB % COIN).toString().padStart(8, '0')} BTC/kvB`;
}

/** GetVirtualTransactionSize with the sigop adjustment the mempool uses. */
export function virtualSize(weight: number, sigOpCost: number, bytesPerSigop: number): number {
  return Math.ceil(Math.max(weight, sigOpCost * bytesPerSigop) / 4);
}
