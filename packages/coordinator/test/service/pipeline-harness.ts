/**
 * The payout pipeline against real in-process signer devices (the device package's flow
 * fixtures: key ceremony, activation by a second holder, an officer-signed policy, the registered
 * wallet) and a small node of our own that enforces what matters for exactly-once: a transaction
 * is accepted only if its inputs are unspent, the same bytes twice are one transaction, and a
 * conflicting spend is rejected as Core would (CHAIN_REJECTED).
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { Transaction } from '@scure/btc-signer';
import { CoordinatorError } from '../../src/errors.js';
import { depositCredited } from '../../src/ledger/deposit-entries.js';
import { parseRiskConfig } from '../../src/risk/config.js';
import { signWithdrawalIntent } from '../../src/risk/intent.js';
import { scriptToAddress } from '../../src/service/address.js';
import type { PayoutChain, PayoutDeps } from '../../src/service/payouts.js';
import { postEntry } from '../../src/service/post-entry.js';
import type { SigningDevice } from '../../src/signing/orchestrator.js';
import type { Database } from '../../src/storage/database.js';
import { withTransaction } from '../../src/storage/transaction.js';
import { addUtxo, allocateAddress } from '../../src/storage/vault.js';
import { createPayoutVault } from '../../src/vault/payout-vault.js';
import { buildWallet, deriveAddress, type VaultWallet } from '../../src/vault/wallet.js';
import { baseConfig } from '../risk/fixtures.js';
import { fundingTx, txidOf } from '../vault/fixtures.js';

const FLOW = '../../../signer-device/test/flow/fixtures.js';
export interface Running {
  client: { call(method: string, params: unknown): Promise<unknown> };
  tick(seconds: number): void;
  close(): Promise<void>;
}
export interface Deployment {
  descriptor: string;
  intentSecret: Uint8Array;
  cosigners: readonly { fingerprint: Uint8Array; xpub: string; coin: number }[];
  cleanup(): Promise<void>;
}
interface Flow {
  T0: number;
  DENIED: Uint8Array;
  setupDeployment(label: string): Promise<Deployment>;
  defaultRules(): { type: string }[];
  policyDoc(d: Deployment, over?: object): object;
  signedPolicy(d: Deployment, doc: object): { document: Uint8Array; approvals: unknown[] };
  armedDevice(d: Deployment, i: number, policy: unknown): Promise<Running>;
}
export const flow = (await import(/* @vite-ignore */ FLOW)) as Flow;

/** A node of our own: UTXO set, mempool-less acceptance, mining on demand. */
export class TinyNode implements PayoutChain {
  readonly utxos = new Map<string, { value: bigint; script: string }>();
  readonly txs = new Map<string, Uint8Array>();
  readonly unconfirmed: string[] = [];
  readonly blocks: string[][] = [];
  height = 200;
  down = false;

  fund(raw: Uint8Array): string {
    const txid = txidOf(raw);
    const tx = Transaction.fromRaw(raw, { allowUnknownOutputs: true });
    for (let i = 0; i < tx.outputsLength; i++) {
      const o = tx.getOutput(i);
      this.utxos.set(`${txid}:${i}`, {
        value: o.amount ?? 0n,
        script: bytesToHex(o.script ?? new Uint8Array()),
      });
    }
    this.txs.set(txid, raw);
    return txid;
  }

  /** Unconfirmed transactions: the outpoints each spent (with their coins) and its fee. */
  readonly pending = new Map<
    string,
    { spent: Map<string, { value: bigint; script: string }>; fee: bigint }
  >();
  feeRateNow = 2_000n;

  async broadcast(raw: Uint8Array): Promise<string> {
    if (this.down) throw new CoordinatorError('CHAIN_UNAVAILABLE', 'tiny-node: down');
    const txid = txidOf(raw);
    if (this.txs.has(txid)) return txid;
    const tx = Transaction.fromRaw(raw, { allowUnknownOutputs: true });
    const keys: string[] = [];
    for (let i = 0; i < tx.inputsLength; i++) {
      const inp = tx.getInput(i);
      keys.push(`${bytesToHex(inp.txid ?? new Uint8Array())}:${inp.index}`);
    }
    // BIP125-like: a conflict with unconfirmed transactions only is replaced when this pays more.
    const conflicts = [...this.pending.entries()].filter(([, p]) =>
      keys.some((k) => p.spent.has(k)),
    );
    let inValue = 0n;
    for (const k of keys) {
      const coin = this.utxos.get(k) ?? conflicts.find(([, p]) => p.spent.has(k))?.[1].spent.get(k);
      if (coin === undefined) {
        throw new CoordinatorError(
          'CHAIN_REJECTED',
          `tiny-node: bad-txns-inputs-missingorspent ${k}`,
          {
            rejectReason: 'bad-txns-inputs-missingorspent',
          },
        );
      }
      inValue += coin.value;
    }
    let outValue = 0n;
    for (let i = 0; i < tx.outputsLength; i++) outValue += tx.getOutput(i).amount ?? 0n;
    const fee = inValue - outValue;
    if (conflicts.some(([, p]) => p.fee >= fee)) {
      throw new CoordinatorError('CHAIN_REJECTED', 'tiny-node: insufficient fee', {
        rejectReason: 'insufficient fee',
      });
    }
    for (const [old, p] of conflicts) {
      // Evict: its outputs vanish, the coins it spent come back.
      for (const k of [...this.utxos.keys()]) if (k.startsWith(`${old}:`)) this.utxos.delete(k);
      for (const [k, coin] of p.spent) this.utxos.set(k, coin);
      this.txs.delete(old);
      this.pending.delete(old);
      this.unconfirmed.splice(this.unconfirmed.indexOf(old), 1);
    }
    const spent = new Map<string, { value: bigint; script: string }>();
    for (const k of keys) {
      const coin = this.utxos.get(k);
      if (coin !== undefined) spent.set(k, coin);
      this.utxos.delete(k);
    }
    this.fund(raw);
    this.pending.set(txid, { spent, fee });
    this.unconfirmed.push(txid);
    return txid;
  }

  async tipHeight(): Promise<number> {
    return this.height;
  }

  async feeRate(): Promise<bigint> {
    return this.feeRateNow;
  }

  mine(): { height: number; txids: string[] } {
    this.height += 1;
    const txids = this.unconfirmed.splice(0);
    for (const t of txids) this.pending.delete(t);
    this.blocks.push(txids);
    return { height: this.height, txids };
  }

  /** Satoshis paid to `script` (hex) by every accepted transaction. */
  paidTo(script: string): bigint {
    let total = 0n;
    for (const raw of this.txs.values()) {
      const tx = Transaction.fromRaw(raw, { allowUnknownOutputs: true });
      for (let i = 0; i < tx.outputsLength; i++) {
        const o = tx.getOutput(i);
        if (bytesToHex(o.script ?? new Uint8Array()) === script) total += o.amount ?? 0n;
      }
    }
    return total;
  }

  walletBalance(scripts: ReadonlySet<string>): bigint {
    let total = 0n;
    for (const u of this.utxos.values()) if (scripts.has(u.script)) total += u.value;
    return total;
  }
}

export interface Harness {
  d: Deployment;
  wallet: VaultWallet;
  devices: { id: string; r: Running }[];
  signing: SigningDevice[];
  node: TinyNode;
  deps(extra?: Partial<PayoutDeps>): PayoutDeps;
  risk: ReturnType<typeof parseRiskConfig>;
  nowMs: number;
  /** Fund a user (ledger credit) and the wallet (a UTXO at a fresh receive address). */
  fund(userId: string, amount: bigint): Promise<void>;
  /** Every script of the wallet handed out so far (hex). */
  scripts(): Promise<Set<string>>;
  close(): Promise<void>;
}

export async function startHarness(database: Database, label: string): Promise<Harness> {
  const d = await flow.setupDeployment(label);
  const rules = flow
    .defaultRules()
    .filter((r) => r.type !== 'velocity' && r.type !== 'maxPerTransaction')
    .concat([
      {
        type: 'velocity',
        windowSeconds: 86_400,
        maxAmount: 1_000_000_000n,
        maxCount: 10_000,
      } as never,
      { type: 'maxPerTransaction', maxAmount: 1_000_000_000n } as never,
      { type: 'maxReplacementFeeBump', maxBump: 100_000n, maxReplacements: 3 } as never,
    ]);
  const policy = flow.signedPolicy(d, flow.policyDoc(d, { rules }));
  const devices: { id: string; r: Running }[] = [];
  for (const [i, id] of [
    [0, 'signer-a'],
    [1, 'signer-b'],
    [2, 'signer-c'],
  ] as const) {
    const r = await flow.armedDevice(d, i, policy);
    await r.client.call('register_wallet', {
      name: 'hot',
      descriptor: d.descriptor,
      approvals: policy.approvals,
    });
    r.tick(5);
    devices.push({ id, r });
  }
  const wallet = buildWallet(
    d.cosigners.map((c) => ({
      fingerprint: c.fingerprint,
      path: `m/48'/${c.coin}'/0'/2'`,
      xpub: c.xpub,
    })),
    'regtest',
  );
  const nowMs = (flow.T0 + 5) * 1000;
  const node = new TinyNode();
  const vault = createPayoutVault({
    wallet,
    now: () => new Date(nowMs),
    limits: { minConfirmationsDeposit: 1 },
  });
  const signing: SigningDevice[] = devices.map(({ id, r }) => ({
    deviceId: id,
    state: 'armed',
    lastSuccessAt: 0,
    signPsbt: (params) => r.client.call('sign_psbt', params) as never,
  }));
  const risk = parseRiskConfig({
    ...baseConfig,
    withdrawal: {
      ...baseConfig.withdrawal,
      firstTimeDestination: 'allow',
      frequency: { windowSeconds: 3600, maxCount: 1000, outcome: 'hold' },
      globalOutflow: { windowSeconds: 3600, maxAmount: 1_000_000_000_000n, outcome: 'hold' },
    },
  });
  let salt = 0;
  return {
    d,
    wallet,
    devices,
    signing,
    node,
    risk,
    nowMs,
    deps: (extra = {}) => ({
      db: database.db,
      vault,
      chain: node,
      devices: () => signing,
      walletName: 'hot',
      signIntent: (c) => signWithdrawalIntent(c, d.intentSecret),
      now: () => nowMs,
      intentTtlSeconds: 3600,
      maxBatch: 50,
      confirmations: 1,
      ...extra,
    }),
    fund: async (userId, amount) => {
      const at = new Date(nowMs);
      await withTransaction(database.db, async (trx) => {
        const addr = await allocateAddress(
          trx,
          { walletId: wallet.idHex, branch: 0, userId, at },
          (b, i) => deriveAddress(wallet, b, i),
        );
        const raw = fundingTx([{ script: addr.script, amount }], `${label}/fund/${salt++}`);
        node.fund(raw);
        await addUtxo(trx, { rawTx: raw, vout: 0, height: node.height, at });
        await postEntry(
          trx,
          depositCredited({ depositId: `${txidOf(raw)}:0`, userId, amount }),
          at,
        );
      });
    },
    scripts: async () => {
      const rows = await database.db.selectFrom('vault_addresses').select('script').execute();
      return new Set(rows.map((r) => bytesToHex(r.script)));
    },
    close: async () => {
      for (const { r } of devices) await r.close();
      await d.cleanup();
    },
  };
}

export const destination = (n: number) => {
  const script = Uint8Array.from([0x00, 0x14, ...new Uint8Array(20).fill(0x30 + (n % 200))]);
  return { script, hex: bytesToHex(script), address: scriptToAddress('regtest', script) };
};
