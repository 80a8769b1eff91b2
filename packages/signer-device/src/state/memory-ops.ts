/**
 * Pure updates of DeviceMemory (docs/state-and-audit.md §5): each returns a new memory and leaves
 * its inputs untouched. The state store persists the result before a signature leaves.
 */
import type { DeviceMemory, SpendRecord, WithdrawalRecord } from '../device-memory.js';
import { SignerError } from '../errors.js';

/**
 * What signing adds to memory — structurally the `SignRecord` that policy/evaluate.ts returns.
 */
export interface SpendUpdate {
  readonly spend: SpendRecord;
  readonly withdrawals: readonly WithdrawalRecord[];
  readonly changeIndex?: { readonly walletId: string; readonly index: number };
}

const MAX_WINDOW_SECONDS = 10 * 366 * 24 * 3600;

function bad(place: string, message: string): SignerError {
  return new SignerError('STATE_CORRUPT', `memory-ops/${place}: ${message}`, {
    reason: 'BAD_MEMORY_UPDATE',
  });
}

function checkTime(place: string, name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw bad(place, `expected ${name} to be a non-negative integer, got ${String(v)}`);
  }
}

/** Spends still inside the longest window ending at `now`: those with at > now - window. */
export function pruneSpends(
  spends: readonly SpendRecord[],
  now: number,
  longestWindowSeconds: number,
): SpendRecord[] {
  checkTime('pruneSpends', 'now', now);
  checkTime('pruneSpends', 'longestWindowSeconds', longestWindowSeconds);
  const from = now - longestWindowSeconds;
  // A spend stamped after `now` cannot happen with a monotone clock; keep it (the safe side).
  return spends.filter((s) => s.at > from);
}

/**
 * Memory after signing: the spend recorded (once per txid), spends that left the longest velocity
 * window pruned, withdrawal records replaced by their new version, the change index raised.
 */
export function applySpend(
  memory: DeviceMemory,
  update: SpendUpdate,
  now: number,
  longestWindowSeconds: number,
): DeviceMemory {
  checkTime('applySpend', 'now', now);
  checkTime('applySpend', 'longestWindowSeconds', longestWindowSeconds);
  if (longestWindowSeconds > MAX_WINDOW_SECONDS) {
    throw bad(
      'applySpend',
      `expected longestWindowSeconds <= ${MAX_WINDOW_SECONDS}, got ${longestWindowSeconds}`,
    );
  }
  if (memory.failClosed) throw bad('applySpend', 'expected a memory that is not fail-closed');
  if (now < memory.lastTime) {
    throw bad('applySpend', `expected now >= memory.lastTime ${memory.lastTime}, got ${now}`);
  }
  const { spend } = update;
  checkTime('applySpend', 'spend.at', spend.at);
  if (spend.at > now) throw bad('applySpend', `expected spend.at <= now ${now}, got ${spend.at}`);
  if (spend.amount < 0n || spend.fee < 0n) {
    throw bad('applySpend', 'expected non-negative spend amount and fee');
  }
  const kept = pruneSpends(memory.spends, now, longestWindowSeconds);
  const already = memory.spends.some((s) => s.txid === spend.txid);
  const spends = already ? kept : [...kept, spend];

  const withdrawals: Record<string, WithdrawalRecord> = { ...memory.withdrawals };
  for (const w of update.withdrawals) {
    if (!spend.withdrawalIds.includes(w.withdrawalId)) {
      throw bad(
        'applySpend',
        `expected withdrawal ${w.withdrawalId} among the spend's withdrawal ids`,
      );
    }
    withdrawals[w.withdrawalId] = w;
  }

  let changeIndex = memory.changeIndex;
  if (update.changeIndex !== undefined) {
    const { walletId, index } = update.changeIndex;
    checkTime('applySpend', 'changeIndex.index', index);
    if (!/^(?:[0-9a-f]{2})+$/.test(walletId)) {
      throw bad('applySpend', `expected changeIndex.walletId as lower-case hex, got ${walletId}`);
    }
    const known = Object.hasOwn(memory.changeIndex, walletId)
      ? memory.changeIndex[walletId]
      : undefined;
    if (known === undefined || index > known)
      changeIndex = { ...memory.changeIndex, [walletId]: index };
  }
  return { ...memory, spends, withdrawals, changeIndex, lastTime: Math.max(memory.lastTime, now) };
}

/** Memory with the device time and height the clock accepted (never moved backwards). */
export function applyClock(
  memory: DeviceMemory,
  unixSeconds: number,
  height: number,
): DeviceMemory {
  checkTime('applyClock', 'unixSeconds', unixSeconds);
  checkTime('applyClock', 'height', height);
  if (unixSeconds < memory.lastTime || height < memory.lastHeight) {
    throw bad(
      'applyClock',
      `expected time/height >= ${memory.lastTime}/${memory.lastHeight}, got ${unixSeconds}/${height}`,
    );
  }
  return { ...memory, lastTime: unixSeconds, lastHeight: height };
}

/** Memory with a newly accepted policy version and hash (strictly newer). */
export function applyPolicy(memory: DeviceMemory, version: number, hashHex: string): DeviceMemory {
  checkTime('applyPolicy', 'version', version);
  if (version <= memory.policyVersion) {
    throw bad('applyPolicy', `expected a version above ${memory.policyVersion}, got ${version}`);
  }
  if (!/^[0-9a-f]{64}$/.test(hashHex)) {
    throw bad('applyPolicy', 'expected the policy hash as 64 lower-case hex digits');
  }
  return { ...memory, policyVersion: version, policyHash: hashHex };
}
