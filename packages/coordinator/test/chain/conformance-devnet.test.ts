/**
 * The conformance suite against the embedded devnet (@keyline/devnet), through the bitcoind
 * backend: the devnet serves Bitcoin Core's JSON-RPC subset. Needs the devnet built
 * (`pnpm --filter @keyline/devnet build`); without a `startDevnet` export the suite is skipped
 * with a message saying so.
 */
import { BitcoindBackend } from '../../src/chain/bitcoind-backend.js';
import { registerChainConformance } from './conformance.js';

/** The API the devnet package announces (its own types are not imported: it may not be built). */
interface Devnet {
  readonly url: string;
  readonly rpcUser: string;
  readonly rpcPassword: string;
  close(): Promise<void>;
}
type StartDevnet = (options: { port: number }) => Promise<Devnet>;

const mod = (await import('@keyline/devnet').catch(() => ({}))) as { startDevnet?: unknown };
const startDevnet =
  typeof mod.startDevnet === 'function' ? (mod.startDevnet as StartDevnet) : undefined;
/** A regtest address of secp256k1's G (p2wpkh): where blocks pay when the devnet has no wallet. */
const FALLBACK_MINER = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';

registerChainConformance({
  name: 'bitcoind backend over @keyline/devnet',
  skip:
    startDevnet === undefined &&
    '@keyline/devnet exports no startDevnet yet (build it: pnpm --filter @keyline/devnet build)',
  setup: async () => {
    const dev = await (startDevnet as StartDevnet)({ port: 0 });
    const backend = BitcoindBackend.fromConfig({
      url: dev.url,
      user: dev.rpcUser,
      password: dev.rpcPassword,
      retries: 1,
    });
    const miner = await backend.rpc.getnewaddress().catch(() => FALLBACK_MINER);
    await backend.rpc.generatetoaddress(101, miner); // mature coinbase for the faucet
    return {
      backend,
      mine: (n) => backend.rpc.generatetoaddress(n, miner),
      fund: (address, sats) => backend.rpc.sendtoaddress(address, sats),
      close: () => dev.close(),
    };
  },
});
