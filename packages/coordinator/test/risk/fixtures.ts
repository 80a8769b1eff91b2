import type {
  RiskConfigInput,
  WithdrawalHistory,
  WithdrawalRequest,
} from '../../src/risk/index.js';

export const NOW = 1_800_000_000;
export const P2WPKH = `0014${'11'.repeat(20)}`;
export const BAD = `0014${'66'.repeat(20)}`;

export const baseConfig: RiskConfigInput = {
  withdrawal: {
    frequency: { windowSeconds: 3600, maxCount: 3, outcome: 'hold' },
    largeAmount: { threshold: 100_000_000n, outcome: 'hold' },
    profitAnomaly: { factorPercent: 150, outcome: 'hold' },
    credentialChangeCoolingSeconds: 86_400,
    firstTimeDestination: 'hold',
    denyScriptPubKeys: [BAD],
    globalOutflow: { windowSeconds: 3600, maxAmount: 1_000_000_000n, outcome: 'hold' },
  },
  deposit: {
    denySourceScriptPubKeys: [BAD],
    minAmount: 1000n,
    largeAmount: 500_000_000n,
    frequency: { windowSeconds: 3600, maxCount: 5 },
  },
};

/** A request that passes every check under `baseConfig` with `cleanHistory`. */
export const cleanRequest: WithdrawalRequest = {
  withdrawalId: 'w1',
  userId: 'u1',
  scriptPubKey: P2WPKH,
  amount: 10_000_000n,
  flags: { newDevice: false, newDestination: false },
};

export const cleanHistory: WithdrawalHistory = {
  userWithdrawals: [{ at: NOW - 7200, amount: 1_000n }],
  knownDestinations: [P2WPKH],
  totalDeposited: 50_000_000n,
  totalWithdrawn: 0n,
  realizedProfit: 0n,
  globalWithdrawals: [],
};
