/**
 * The conformance suite against a real Bitcoin Core node — regtest only — when
 * BITCOIND_RPC_URL is set, with BITCOIND_RPC_USER + BITCOIND_RPC_PASSWORD or
 * BITCOIND_RPC_COOKIE (path of the node's .cookie). Skipped, with a message, when it is not.
 *
 * The node needs `txindex=1` (confirmed lookups) and a wallet (the suite loads or creates
 * `keyline-conformance`, mines 101 blocks to it and pays from it with an explicit fee rate, so
 * no `fallbackfee` is needed). Example:
 *   bitcoind -regtest -txindex=1 -server=1 -rpcbind=127.0.0.1 -rpcallowip=127.0.0.1 -daemon
 *   BITCOIND_RPC_URL=http://127.0.0.1:18443/ BITCOIND_RPC_COOKIE=~/.bitcoin/regtest/.cookie \
 *     npx vitest run packages/coordinator/test/chain/conformance-bitcoind.test.ts
 */
import { homedir } from 'node:os';
import { z } from 'zod';
import { satsToBtcNumber } from '../../src/chain/amount.js';
import { BitcoindBackend } from '../../src/chain/bitcoind-backend.js';
import { parseBitcoindConfig } from '../../src/chain/bitcoind-config.js';
import { CoreRpcClient } from '../../src/chain/rpc-client.js';
import { hex64 } from '../../src/chain/rpc-schemas.js';
import { CoordinatorError, isCoordinatorError } from '../../src/errors.js';
import { registerChainConformance } from './conformance.js';

const env = process.env;
const WALLET = 'keyline-conformance';

function config(): Record<string, unknown> {
  const base = { url: env.BITCOIND_RPC_URL, retries: 2, timeoutMs: 60_000 };
  if (env.BITCOIND_RPC_COOKIE !== undefined) {
    return { ...base, cookieFile: env.BITCOIND_RPC_COOKIE.replace(/^~(?=\/)/, homedir()) };
  }
  return { ...base, user: env.BITCOIND_RPC_USER, password: env.BITCOIND_RPC_PASSWORD };
}

const anyResult = z.unknown();

registerChainConformance({
  name: 'bitcoind backend over a real Bitcoin Core (regtest)',
  skip:
    env.BITCOIND_RPC_URL === undefined &&
    'BITCOIND_RPC_URL is not set (plus BITCOIND_RPC_USER/BITCOIND_RPC_PASSWORD or BITCOIND_RPC_COOKIE)',
  setup: async () => {
    const backend = BitcoindBackend.fromConfig(config());
    const network = await backend.network();
    if (network !== 'regtest') {
      throw new CoordinatorError(
        'BAD_CONFIG',
        `conformance-bitcoind: expected a regtest node (the suite mines and spends), got ${network}`,
      );
    }
    const rpc = backend.rpc;
    const indexes = (await rpc.call({ method: 'getindexinfo', params: [], schema: anyResult })) as {
      txindex?: { synced?: boolean };
    };
    if (indexes.txindex === undefined) {
      throw new CoordinatorError(
        'BAD_CONFIG',
        'conformance-bitcoind: expected txindex=1 on the node, got no txindex',
      );
    }
    // The wallet lives at /wallet/<name>; load it, or create it the first time.
    await rpc
      .call({ method: 'loadwallet', params: [WALLET], schema: anyResult })
      .catch(async (e: unknown) => {
        if (
          isCoordinatorError(e) &&
          /not found|does not exist/i.test(String(e.detail.rpcMessage))
        ) {
          await rpc.call({ method: 'createwallet', params: [WALLET], schema: anyResult });
        } else if (
          !(isCoordinatorError(e) && /already loaded/i.test(String(e.detail.rpcMessage)))
        ) {
          throw e;
        }
      });
    const w = parseBitcoindConfig({
      ...config(),
      url: new URL(`wallet/${WALLET}`, env.BITCOIND_RPC_URL).href,
    });
    const wallet = new CoreRpcClient({
      url: w.url,
      auth: w.auth,
      timeoutMs: w.timeoutMs,
      retry: w.retry,
      maxResponseBytes: w.maxResponseBytes,
    });
    const miner = await wallet.getnewaddress();
    await rpc.generatetoaddress(101, miner);
    return {
      backend,
      mine: (n) => rpc.generatetoaddress(n, miner),
      // sendtoaddress with an explicit fee_rate (sat/vB): no fee estimation needed on regtest.
      fund: (address, sats) =>
        wallet.call({
          method: 'sendtoaddress',
          params: [
            address,
            satsToBtcNumber(sats, 'fund'),
            '',
            '',
            false,
            true,
            null,
            'unset',
            null,
            10,
          ],
          schema: hex64,
        }),
      close: async () => {},
    };
  },
});
