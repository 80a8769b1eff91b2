/**
 * Property tests over random sequences of business events: the ledger keeps every user balance at
 * or above zero, the sum over all accounts at zero, settles each withdrawal's reserve to zero, and
 * reconciles with a model of the chain and the records.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCoordinatorError } from '../../src/errors.js';
import {
  accounts,
  applyToBalances,
  balanceOf,
  depositCleared,
  depositCredited,
  depositDelayed,
  depositReversed,
  depositSeen,
  type JournalEntry,
  parseAccountKey,
  reconcile,
  refillReceived,
  sweepToCold,
  withdrawalAccepted,
  withdrawalBroadcast,
  withdrawalConfirmed,
  withdrawalFeeBumped,
  withdrawalReleased,
} from '../../src/ledger/index.js';

const USERS = ['u0', 'u1', 'u2'];
const amount = fc.bigInt({ min: 1n, max: 10_000n });
const fee = fc.bigInt({ min: 0n, max: 50n });
const idx = fc.nat(20);
const user = fc.constantFrom(...USERS);

const command = fc.oneof(
  fc.record({ t: fc.constant('deposit' as const), user, amount }),
  fc.record({ t: fc.constant('confirm' as const), idx, delay: fc.boolean() }),
  fc.record({ t: fc.constant('clear' as const), idx }),
  fc.record({ t: fc.constant('reorg' as const), idx }),
  fc.record({ t: fc.constant('withdraw' as const), user, amount, userFee: fee }),
  fc.record({ t: fc.constant('release' as const), idx }),
  fc.record({ t: fc.constant('broadcast' as const), idx, fee: amount }),
  fc.record({ t: fc.constant('bump' as const), idx, fee: amount }),
  fc.record({ t: fc.constant('settle' as const), idx, original: fc.boolean() }),
  fc.record({ t: fc.constant('sweep' as const), amount, fee }),
  fc.record({ t: fc.constant('refill' as const), amount, fee }),
);

type Dep = {
  id: string;
  user: string;
  amount: bigint;
  stage: 'seen' | 'delayed' | 'credited' | 'gone';
  epoch: number;
};
type Wd = {
  id: string;
  user: string;
  amount: bigint;
  userFee: bigint;
  stage: 'accepted' | 'broadcast' | 'settled' | 'released';
  firstFee: bigint;
  reserved: bigint;
  bumps: number;
};

describe('property: any sequence of valid events', () => {
  it('keeps users >= 0, the total at 0, settled reserves at 0, and reconciles', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (cmds) => {
        let b = new Map<string, bigint>();
        const deps: Dep[] = [];
        const wds: Wd[] = [];
        let utxos = 0n; // the model's confirmed hot wallet coins
        const tryApply = (e: JournalEntry, onOk: () => void) => {
          try {
            b = applyToBalances(b, e);
            onOk();
          } catch (err) {
            if (!isCoordinatorError(err, 'INSUFFICIENT_FUNDS')) throw err;
          }
        };
        for (const c of cmds) {
          const d = 'idx' in c && deps.length > 0 ? deps[c.idx % deps.length] : undefined;
          const w = 'idx' in c && wds.length > 0 ? wds[c.idx % wds.length] : undefined;
          switch (c.t) {
            case 'deposit': {
              const dep: Dep = {
                id: `d${deps.length}`,
                user: c.user,
                amount: c.amount,
                stage: 'seen',
                epoch: 0,
              };
              tryApply(depositSeen({ depositId: dep.id, amount: dep.amount }), () =>
                deps.push(dep),
              );
              break;
            }
            case 'confirm':
              if (d?.stage === 'seen') {
                const ev = { depositId: d.id, userId: d.user, amount: d.amount, epoch: d.epoch };
                tryApply(c.delay ? depositDelayed(ev) : depositCredited(ev), () => {
                  d.stage = c.delay ? 'delayed' : 'credited';
                  utxos += d.amount;
                });
              }
              break;
            case 'clear':
              if (d?.stage === 'delayed') {
                const ev = { depositId: d.id, userId: d.user, amount: d.amount, epoch: d.epoch };
                tryApply(depositCleared(ev), () => {
                  d.stage = 'credited';
                });
              }
              break;
            case 'reorg':
              if (d !== undefined && d.stage !== 'gone') {
                const stage = d.stage;
                const ev = {
                  depositId: d.id,
                  userId: d.user,
                  amount: d.amount,
                  epoch: d.epoch,
                  stage,
                };
                tryApply(depositReversed(ev), () => {
                  if (stage !== 'seen') utxos -= d.amount;
                  d.stage = 'gone';
                });
              }
              break;
            case 'withdraw': {
              const wd: Wd = {
                id: `w${wds.length}`,
                user: c.user,
                amount: c.amount,
                userFee: c.userFee,
                stage: 'accepted',
                firstFee: 0n,
                reserved: 0n,
                bumps: 0,
              };
              tryApply(
                withdrawalAccepted({
                  withdrawalId: wd.id,
                  userId: wd.user,
                  amount: wd.amount,
                  userFee: wd.userFee,
                }),
                () => wds.push(wd),
              );
              break;
            }
            case 'release':
              if (w?.stage === 'accepted') {
                tryApply(
                  withdrawalReleased({
                    withdrawalId: w.id,
                    userId: w.user,
                    amount: w.amount,
                    userFee: w.userFee,
                  }),
                  () => {
                    w.stage = 'released';
                  },
                );
              }
              break;
            case 'broadcast':
              if (w?.stage === 'accepted') {
                tryApply(withdrawalBroadcast({ withdrawalId: w.id, networkFee: c.fee }), () => {
                  w.stage = 'broadcast';
                  w.firstFee = c.fee;
                  w.reserved = c.fee;
                });
              }
              break;
            case 'bump':
              if (w?.stage === 'broadcast') {
                const txid = (w.bumps + 1).toString(16).padStart(64, '0');
                tryApply(
                  withdrawalFeeBumped({
                    withdrawalId: w.id,
                    replacementTxid: txid,
                    feeIncrease: c.fee,
                  }),
                  () => {
                    w.reserved += c.fee;
                    w.bumps += 1;
                  },
                );
              }
              break;
            case 'settle':
              if (w?.stage === 'broadcast') {
                const paid = c.original ? w.firstFee : w.reserved;
                tryApply(
                  withdrawalConfirmed({
                    withdrawalId: w.id,
                    amount: w.amount,
                    userFee: w.userFee,
                    reservedNetworkFee: w.reserved,
                    paidNetworkFee: paid,
                  }),
                  () => {
                    w.stage = 'settled';
                    utxos -= w.amount + paid;
                  },
                );
              }
              break;
            case 'sweep':
            case 'refill': {
              const txid = `${deps.length}${wds.length}`.padStart(64, 'a');
              const ev = { txid, amount: c.amount, networkFee: c.fee };
              if (c.t === 'sweep') tryApply(sweepToCold(ev), () => (utxos -= c.amount + c.fee));
              else tryApply(refillReceived(ev), () => (utxos += c.amount));
              break;
            }
          }
          // invariants after every step
          let total = 0n;
          for (const [key, stored] of b) {
            total += stored;
            const acc = parseAccountKey(key);
            if (acc.kind === 'user') expect(balanceOf(b, acc)).toBeGreaterThanOrEqual(0n);
          }
          expect(total).toBe(0n);
        }
        for (const w of wds) {
          if (w.stage === 'settled' || w.stage === 'released') {
            expect(balanceOf(b, accounts.pending(w.id))).toBe(0n);
          }
        }
        const report = reconcile(b, {
          confirmedUtxos: utxos > 0n ? [{ outpoint: 'model:0', amount: utxos }] : [],
          incomingDeposits: deps
            .filter((d) => d.stage === 'seen')
            .map((d) => ({ depositId: d.id, amount: d.amount })),
          uncreditedDeposits: deps
            .filter((d) => d.stage === 'seen' || d.stage === 'delayed')
            .map((d) => ({ depositId: d.id, amount: d.amount })),
          openWithdrawals: wds
            .filter((w) => w.stage === 'accepted' || w.stage === 'broadcast')
            .map((w) => ({ withdrawalId: w.id, reserved: w.amount + w.userFee + w.reserved })),
        });
        expect(report.ok).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('property: settle after reserve', () => {
  it('leaves pending at 0 for that withdrawal and moves the user total out', () => {
    fc.assert(
      fc.property(amount, fee, amount, fee, fc.nat(3), (a, uf, nf, inc, bumps) => {
        const w = { withdrawalId: 'w', userId: 'u', amount: a, userFee: uf };
        // another user's deposit gives the hot wallet coins for the network fee
        let b = applyToBalances(new Map(), depositSeen({ depositId: 'x', amount: 10n ** 9n }));
        b = applyToBalances(b, depositCredited({ depositId: 'x', userId: 'v', amount: 10n ** 9n }));
        b = applyToBalances(b, depositSeen({ depositId: 'd', amount: a + uf }));
        b = applyToBalances(b, depositCredited({ depositId: 'd', userId: 'u', amount: a + uf }));
        b = applyToBalances(b, withdrawalAccepted(w));
        expect(balanceOf(b, accounts.pending('w'))).toBe(a + uf);
        b = applyToBalances(b, withdrawalBroadcast({ withdrawalId: 'w', networkFee: nf }));
        let reserved = nf;
        for (let i = 0; i < bumps; i++) {
          const incr = inc + 1n;
          b = applyToBalances(
            b,
            withdrawalFeeBumped({
              withdrawalId: 'w',
              replacementTxid: String(i).padStart(64, '0'),
              feeIncrease: incr,
            }),
          );
          reserved += incr;
        }
        b = applyToBalances(
          b,
          withdrawalConfirmed({ ...w, reservedNetworkFee: reserved, paidNetworkFee: reserved }),
        );
        expect(balanceOf(b, accounts.pending('w'))).toBe(0n);
        expect(balanceOf(b, accounts.user('u'))).toBe(0n);
      }),
    );
  });
});
