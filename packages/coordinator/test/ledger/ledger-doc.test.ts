import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ACCOUNT_KINDS, ENTRY_KINDS } from '../../src/ledger/index.js';

const doc = readFileSync(new URL('../../docs/ledger.md', import.meta.url), 'utf8');

describe('docs/ledger.md', () => {
  it('lists every account kind in the chart of accounts', () => {
    for (const k of Object.keys(ACCOUNT_KINDS))
      expect(doc).toMatch(new RegExp(`^\\| \`${k}\` +\\|`, 'm'));
  });
  it('documents a builder for every entry kind', () => {
    const builders: Record<keyof typeof ENTRY_KINDS, string> = {
      deposit_seen: 'depositSeen',
      deposit_credited: 'depositCredited',
      deposit_delayed: 'depositDelayed',
      deposit_cleared: 'depositCleared',
      deposit_reversed: 'depositReversed',
      withdrawal_accepted: 'withdrawalAccepted',
      withdrawal_released: 'withdrawalReleased',
      withdrawal_broadcast: 'withdrawalBroadcast',
      withdrawal_fee_bumped: 'withdrawalFeeBumped',
      withdrawal_confirmed: 'withdrawalConfirmed',
      sweep_to_cold: 'sweepToCold',
      refill_received: 'refillReceived',
    };
    expect(Object.keys(builders).sort()).toEqual(Object.keys(ENTRY_KINDS).sort());
    for (const b of Object.values(builders)) expect(doc).toContain(`\`${b}\``);
  });
});
