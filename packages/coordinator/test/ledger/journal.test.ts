import { describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import {
  accountKey,
  accounts,
  applyToBalances,
  assertBalanced,
  balanceOf,
  depositCredited,
  depositSeen,
  parseAccountKey,
  withdrawalAccepted,
  withdrawalConfirmed,
  withdrawalReleased,
} from '../../src/ledger/index.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isCoordinatorError(e)) return e.code;
    throw e;
  }
  return undefined;
}

const alice = accounts.user('alice');

describe('assertBalanced', () => {
  it('accepts an entry that sums to zero and freezes it', () => {
    const e = assertBalanced({
      kind: 'deposit_cleared',
      reference: 'd1',
      postings: [
        { account: accounts.inFlight('d1'), amount: 5n },
        { account: alice, amount: -5n },
      ],
    });
    expect(Object.isFrozen(e)).toBe(true);
    expect(Object.isFrozen(e.postings)).toBe(true);
  });

  it('refuses an entry that does not sum to zero (UNBALANCED_ENTRY)', () => {
    expect(
      code(() =>
        assertBalanced({
          kind: 'deposit_cleared',
          reference: 'd1',
          postings: [
            { account: accounts.inFlight('d1'), amount: 5n },
            { account: alice, amount: -4n },
          ],
        }),
      ),
    ).toBe('UNBALANCED_ENTRY');
  });

  it('tells malformed entries apart from unbalanced ones', () => {
    const ok = [
      { account: accounts.hotWallet(), amount: 1n },
      { account: accounts.external(), amount: -1n },
    ];
    expect(code(() => assertBalanced(null))).toBe('BAD_REQUEST');
    expect(code(() => assertBalanced({ kind: 'mint', reference: 'r', postings: ok }))).toBe(
      'BAD_REQUEST',
    );
    expect(code(() => assertBalanced({ kind: 'deposit_seen', reference: '', postings: ok }))).toBe(
      'BAD_REQUEST',
    );
    expect(
      code(() => assertBalanced({ kind: 'deposit_seen', reference: 'r', postings: [ok[0]] })),
    ).toBe('BAD_REQUEST');
    // a number amount (precision loss) and a zero amount are malformed
    for (const amount of [1, 0n, 3_000_000_000_000_000n]) {
      expect(
        code(() =>
          assertBalanced({
            kind: 'deposit_seen',
            reference: 'r',
            postings: [
              { account: accounts.hotWallet(), amount },
              { account: accounts.external(), amount: -1n },
            ],
          }),
        ),
      ).toBe('BAD_AMOUNT');
    }
    // unknown account kinds, owners where none belong, missing owners, foreign assets
    for (const account of [
      { kind: 'treasury', asset: 'BTC' },
      { kind: 'hot_wallet', owner: 'x', asset: 'BTC' },
      { kind: 'user', asset: 'BTC' },
      { kind: 'user', owner: 'a', asset: 'ETH' },
      { kind: 'user', owner: 'a', asset: 'BTC', extra: 1 },
    ]) {
      expect(
        code(() =>
          assertBalanced({
            kind: 'deposit_seen',
            reference: 'r',
            postings: [
              { account, amount: 1n },
              { account: accounts.external(), amount: -1n },
            ],
          }),
        ),
      ).toBe('BAD_REQUEST');
    }
  });
});

describe('applyToBalances', () => {
  const seen = depositSeen({ depositId: 'd1', amount: 1000n });
  const credited = depositCredited({ depositId: 'd1', userId: 'alice', amount: 1000n });

  it('applies postings without touching the input map', () => {
    const empty = new Map<string, bigint>();
    const b1 = applyToBalances(empty, seen);
    expect(empty.size).toBe(0);
    const b2 = applyToBalances(b1, credited);
    expect(balanceOf(b2, alice)).toBe(1000n);
    expect(balanceOf(b2, accounts.hotWallet())).toBe(1000n);
    expect(balanceOf(b2, accounts.inFlight('d1'))).toBe(0n);
    expect(balanceOf(b2, accounts.external())).toBe(0n);
  });

  it('attack: crediting the same deposit twice is refused (INSUFFICIENT_FUNDS)', () => {
    const b = applyToBalances(applyToBalances(new Map(), seen), credited);
    expect(code(() => applyToBalances(b, credited))).toBe('INSUFFICIENT_FUNDS');
  });

  it('attack: crediting a deposit that was never seen is refused', () => {
    expect(code(() => applyToBalances(new Map(), credited))).toBe('INSUFFICIENT_FUNDS');
  });

  it('attack: a withdrawal above the user balance is refused', () => {
    const b = applyToBalances(applyToBalances(new Map(), seen), credited);
    const tooMuch = withdrawalAccepted({
      withdrawalId: 'w1',
      userId: 'alice',
      amount: 990n,
      userFee: 11n,
    });
    expect(code(() => applyToBalances(b, tooMuch))).toBe('INSUFFICIENT_FUNDS');
    const exact = withdrawalAccepted({
      withdrawalId: 'w1',
      userId: 'alice',
      amount: 990n,
      userFee: 10n,
    });
    expect(balanceOf(applyToBalances(b, exact), alice)).toBe(0n);
  });

  it('attack: releasing or settling a withdrawal twice is refused', () => {
    let b = applyToBalances(applyToBalances(new Map(), seen), credited);
    const w = { withdrawalId: 'w1', userId: 'alice', amount: 500n, userFee: 0n };
    b = applyToBalances(b, withdrawalAccepted(w));
    const released = applyToBalances(b, withdrawalReleased(w));
    expect(code(() => applyToBalances(released, withdrawalReleased(w)))).toBe('INSUFFICIENT_FUNDS');
    const settle = withdrawalConfirmed({
      withdrawalId: 'w1',
      amount: 500n,
      userFee: 0n,
      reservedNetworkFee: 0n,
      paidNetworkFee: 0n,
    });
    const settled = applyToBalances(b, settle);
    expect(code(() => applyToBalances(settled, settle))).toBe('INSUFFICIENT_FUNDS');
  });

  it('refuses a non-Map and a non-bigint balance', () => {
    expect(code(() => applyToBalances({} as Map<string, bigint>, seen))).toBe('BAD_REQUEST');
    const bad = new Map([[accountKey(accounts.external()), 1 as unknown as bigint]]);
    expect(code(() => applyToBalances(bad, seen))).toBe('BAD_REQUEST');
  });
});

describe('accountKey', () => {
  it('round-trips through parseAccountKey, owners with slashes included', () => {
    for (const a of [accounts.user('a/b'), accounts.hotWallet(), accounts.pending('w-1')]) {
      expect(parseAccountKey(accountKey(a))).toEqual(a);
    }
  });
  it('refuses malformed owner ids', () => {
    expect(code(() => accounts.user(''))).toBe('BAD_REQUEST');
    expect(code(() => accounts.user('has space'))).toBe('BAD_REQUEST');
    expect(code(() => accounts.user('x'.repeat(129)))).toBe('BAD_REQUEST');
  });
});
