/**
 * Fee estimates with a configured floor and ceiling (docs/gateway.md §8), in sat/kvB as bigint.
 * - The node's estimate is clamped into [floor, ceiling].
 * - The node has no estimate (null: too few blocks seen, e.g. a fresh regtest or a node just
 *   started) → the configured `fallback`, marked `source: 'fallback'`.
 * - The backend cannot answer → its error (CHAIN_UNAVAILABLE, ...) propagates: no guess.
 */
import type { ChainBackend, FeeEstimate } from '../chain/interface.js';
import { CoordinatorError } from '../errors.js';
import { describe } from '../storage/validate.js';
import { checkFeeEstimate } from './chain-data.js';
import type { FeeConfig } from './config.js';

/** Bitcoin Core's estimatesmartfee accepts targets 1..1008 blocks. */
export const MAX_FEE_TARGET = 1008;

export interface FeeQuote {
  /** The rate to use, within [floor, ceiling]. */
  readonly satPerKvB: bigint;
  readonly source: 'node' | 'fallback';
  /** The node's figure before clamping, or null when it had none. */
  readonly nodeSatPerKvB: bigint | null;
  readonly clamped: 'floor' | 'ceiling' | null;
  readonly targetBlocks: number;
  /** The target the node answered for (it may widen the request), or null. */
  readonly answeredBlocks: number | null;
}

function checkTarget(place: string, targetBlocks: number): number {
  if (!Number.isInteger(targetBlocks) || targetBlocks < 1 || targetBlocks > MAX_FEE_TARGET) {
    throw new CoordinatorError(
      'BAD_REQUEST',
      `${place}: expected a target of 1..${MAX_FEE_TARGET} blocks, got ${describe(targetBlocks)}`,
    );
  }
  return targetBlocks;
}

/** Pure: the quote for a node answer (or null) under `config`. */
export function quoteFee(
  estimate: FeeEstimate | null,
  targetBlocks: number,
  config: FeeConfig,
): FeeQuote {
  checkTarget('gateway/fees/quote', targetBlocks);
  if (estimate === null) {
    return Object.freeze({
      satPerKvB: config.fallback,
      source: 'fallback',
      nodeSatPerKvB: null,
      clamped: null,
      targetBlocks,
      answeredBlocks: null,
    });
  }
  const raw = estimate.satPerKvB;
  const clamped = raw < config.floor ? 'floor' : raw > config.ceiling ? 'ceiling' : null;
  return Object.freeze({
    satPerKvB: clamped === 'floor' ? config.floor : clamped === 'ceiling' ? config.ceiling : raw,
    source: 'node',
    nodeSatPerKvB: raw,
    clamped,
    targetBlocks,
    answeredBlocks: estimate.blocks,
  });
}

/** Ask the backend and quote; backend errors propagate unchanged. */
export async function estimateFee(
  backend: ChainBackend,
  config: FeeConfig,
  targetBlocks: number,
): Promise<FeeQuote> {
  const place = 'gateway/fees/estimate';
  checkTarget(place, targetBlocks);
  const estimate = checkFeeEstimate(place, await backend.estimateFee(targetBlocks));
  return quoteFee(estimate, targetBlocks, config);
}
