/**
 * The conformance suite against the test doubles: the bitcoind backend over the fake Core
 * server, and the Esplora backend over the fake Esplora server (both on the same kind of
 * in-memory chain). This proves the suite itself and the backends' plumbing; the devnet and a
 * real node run the same suite in conformance-devnet / conformance-bitcoind.
 */
import { BitcoindBackend } from '../../src/chain/bitcoind-backend.js';
import { EsploraBackend } from '../../src/chain/esplora-backend.js';
import { registerChainConformance } from './conformance.js';
import { FakeChain } from './fake-chain.js';
import { coreHandlers, FakeCore } from './fake-core.js';
import { FakeEsplora } from './fake-esplora.js';

registerChainConformance({
  name: 'bitcoind backend over the fake Core',
  setup: async () => {
    const chain = new FakeChain();
    chain.mine(3);
    const core = await FakeCore.start(
      { user: 'keyline', password: 'fake-pass' },
      coreHandlers(chain),
    );
    const backend = BitcoindBackend.fromConfig({
      url: core.url,
      user: 'keyline',
      password: 'fake-pass',
      retries: 0,
    });
    return {
      backend,
      mine: (n) => backend.rpc.generatetoaddress(n, 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080'),
      fund: (address, sats) => backend.rpc.sendtoaddress(address, sats),
      close: () => core.close(),
    };
  },
});

registerChainConformance({
  name: 'esplora backend over the fake Esplora',
  setup: async () => {
    const chain = new FakeChain();
    chain.mine(3);
    const esplora = await FakeEsplora.start(chain);
    const backend = EsploraBackend.fromConfig({ url: esplora.url, network: 'regtest', retries: 0 });
    return {
      backend,
      mine: async (n) => chain.mine(n),
      fund: async (address, sats) => chain.fundAddress(address, sats),
      close: () => esplora.close(),
    };
  },
});
