/**
 * Finding the fork point (docs/gateway.md §5): compare the hashes of our processed blocks,
 * newest first, with the active chain's hash at the same height, until one matches. Read-only:
 * nothing is disconnected until the whole walk succeeded, so a reorg deeper than the kept
 * history stops the follower (fatal `reorg_too_deep`) before any state changes.
 */

import type { ProcessedBlock } from './cursor.js';
import { gatewayFatal } from './fatal.js';

export type ForkResult =
  /** Our tip is on the active chain (the node is level with us, behind us, or raced us). */
  | { readonly kind: 'none' }
  /** The node knows none of our heights yet (far behind, e.g. resyncing): wait for it. */
  | { readonly kind: 'behind' }
  /** Disconnect `disconnect` blocks from the top; the fork point is the block below them. */
  | { readonly kind: 'fork'; readonly disconnect: number };

/**
 * `blocks`: our processed blocks, oldest first. `activeHash(h)`: the active chain's hash at
 * height h, or null above its tip. `startHeight`: when our oldest block is the configured start,
 * nothing older exists to keep and a fork below it disconnects everything.
 */
export async function findFork(
  blocks: readonly ProcessedBlock[],
  activeHash: (height: number) => Promise<string | null>,
  startHeight: number,
): Promise<ForkResult> {
  let mismatch = false;
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i] as ProcessedBlock;
    const h = await activeHash(b.height);
    if (h === b.hash) {
      // Blocks above i are absent (null) or replaced; only a replacement is a reorg.
      return mismatch ? { kind: 'fork', disconnect: blocks.length - 1 - i } : { kind: 'none' };
    }
    if (h !== null) mismatch = true;
  }
  if (!mismatch) return { kind: 'behind' };
  const oldest = blocks[0];
  if (oldest !== undefined && oldest.height === startHeight) {
    return { kind: 'fork', disconnect: blocks.length };
  }
  throw gatewayFatal(
    'INTERNAL',
    'reorg_too_deep',
    `gateway/reorg: expected a fork point at or above height ${oldest?.height ?? startHeight} (the oldest kept block), got none: the active chain replaced every kept block`,
    { oldestKeptHeight: oldest?.height ?? null, keptBlocks: blocks.length },
  );
}
