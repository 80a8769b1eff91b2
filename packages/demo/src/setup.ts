/**
 * Bringing the system up, in the order an operator would:
 *
 *   1. ceremony     holder, officer and device keys (keyline-signer)
 *   2. coordinator  init (config, database, risk + link keys), public keys
 *   3. lines        per device: two socat pty pairs + the paced relay; signer `serve` on its end
 *   4. enroll       each device pinned on the coordinator (serial path, link key, key origin)
 *   5. activate     each device's console challenge signed by a second holder, sent over the line
 *   6. policy       written against `wallet show`'s descriptor, signed by 2 of 3 officers, pushed
 *   7. wallet       registered on every device
 *   8. api keys     an exchange key and an operator key
 *   9. serve        config edited for the demo, `keyline-coordinator serve` (SQLite + devnet)
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Ceremony, runCeremony } from './ceremony.js';
import { CoordinatorCli, type ServeInfo } from './coordinator.js';
import type { Narrator } from './narrator.js';
import { deviceDeniedDestination, policyDocument, signPolicy } from './policy.js';
import type { ChildHandle, Supervisor } from './processes.js';
import {
  activateSigner,
  ownHolderActivationRefused,
  type RunningSigner,
  startSigner,
} from './signers.js';
import type { Tools } from './tools.js';
import { DemoError } from './wait.js';

/** Online risk delays deposits at or above 2 BTC; the flagged user deposits 2.5 BTC. */
export const LARGE_DEPOSIT = 200_000_000n;
/** Time the coordinator gives one device to answer sign_psbt before failing over. */
const SIGN_TIMEOUT_MS = 15_000;
const START_TIMEOUT_MS = 60_000;

export interface System {
  readonly ceremony: Ceremony;
  readonly coordinatorCli: CoordinatorCli;
  readonly signers: RunningSigner[];
  coordinator: ChildHandle | null;
  serveInfo: ServeInfo | null;
  exchangeKey: string;
  operatorKey: string;
  readonly denied: { script: string; address: string };
  onlineDenyList: string[];
  /** The device's answer when the holder who unlocked it tried to activate it too. */
  ownHolderRefusal: string | null;
}

export async function setUp(
  say: Narrator,
  sup: Supervisor,
  tools: Tools,
  options: {
    readonly workDir: string;
    readonly baud: number;
    readonly faults?: boolean;
    readonly cwd: string;
    readonly signal: AbortSignal;
  },
  system: { current: System | null },
): Promise<System> {
  const { workDir, baud, cwd, signal } = options;
  /** Between steps: stop here when the demo was interrupted (Ctrl-C) during setup. */
  const checkpoint = () => {
    if (signal.aborted) throw new DemoError('demo/setup: interrupted');
  };
  const dir = (name: string) => {
    const d = join(workDir, name);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
  };

  say.heading('Key ceremony (keyline-signer): 3 key holders, 3 risk officers, 3 devices');
  say.step(
    'passphrases are generated and handed over in 0600 files (--passphrase-file): AUTOMATION ONLY, a real holder types them on the device console; the scrypt cost is the test one (--insecure-test-kdf)',
  );
  const ceremony = await runCeremony(sup, tools.signer, dir('ceremony'), (t) => say.step(t));

  checkpoint();
  say.heading('Coordinator setup (keyline-coordinator init)');
  const coordinatorCli = new CoordinatorCli(
    sup,
    tools.coordinator,
    join(workDir, 'coordinator'),
    cwd,
  );
  const keys = await coordinatorCli.init();
  say.step(
    `init: config.json, SQLite database, risk intent key (public ${keys.riskPublicKey.slice(0, 16)}…) and link key (public ${keys.linkPublicKey.slice(0, 16)}…)`,
  );

  const denied = deviceDeniedDestination();
  const sys: System = {
    ceremony,
    coordinatorCli,
    signers: [],
    coordinator: null,
    serveInfo: null,
    exchangeKey: '',
    operatorKey: '',
    denied,
    onlineDenyList: [],
    ownHolderRefusal: null,
  };
  system.current = sys;

  checkpoint();
  say.heading('Serial lines and signer daemons (keyline-signer serve)');
  for (const [i, d] of ceremony.devices.entries()) {
    const s = await startSigner(sup, tools.signer, {
      index: i,
      ceremony,
      coordinatorLinkKey: keys.linkPublicKey,
      dir: dir(d.id),
      baud,
      ...(options.faults === true ? { faults: { seed: 0x6b65 + i } } : {}),
      cwd,
      timeoutMs: START_TIMEOUT_MS,
    });
    sys.signers.push(s);
    say.step(
      `${s.id}: serve on ${s.line.devicePath} ⇄ relay paced at ${baud} baud ⇄ ${s.line.coordinatorPath} (coordinator side); key unlocked by ${s.ownHolder.name}'s passphrase, state unlocked`,
    );
  }

  checkpoint();
  say.heading('Enrollment, activation by a second holder, policy, wallet');
  for (const [i, s] of sys.signers.entries()) {
    const d = ceremony.devices[i];
    if (d === undefined) throw new DemoError(`demo/setup: expected device ${i}, got none`);
    await coordinatorCli.enroll({
      id: s.id,
      serial: s.line.coordinatorPath,
      baud,
      linkKey: d.linkPublicKey,
      keyOrigin: d.keyOrigin,
    });
  }
  const wallet = await coordinatorCli.walletShow();
  say.step(`3 devices enrolled; wallet ${wallet.descriptor.slice(0, 72)}…`);

  const first = sys.signers[0];
  if (first !== undefined) {
    const error = await ownHolderActivationRefused(
      sup,
      tools.signer,
      coordinatorCli,
      first,
      dir('activations'),
      cwd,
    );
    sys.ownHolderRefusal = error;
    say.step(
      `${first.id}: ${first.ownHolder.name}, who unlocked it, signs its challenge too (one person as both factors) → refused by the device: ${error.slice(0, 160)}`,
    );
  }
  let expiryWarned = false;
  for (const s of sys.signers) {
    checkpoint();
    const r = await activateSigner(sup, tools.signer, coordinatorCli, s, dir('activations'), cwd);
    if (r.state !== 'armed') {
      throw new DemoError(`demo/activate: expected ${s.id} armed after activation, got ${r.state}`);
    }
    say.step(
      `${s.id}: console challenge ${r.challenge.slice(0, 12)}… signed by ${s.activator.name} (not ${s.ownHolder.name}, who unlocked it), delivered over the line → armed`,
    );
    if (r.looksExpired && !expiryWarned) {
      expiryWarned = true;
      say.detail(
        'note: sign-activation warned "this challenge has already expired": a fresh device has no clock until a signed policy sets it (its time starts at 0), so the expiry it shows reads as 1970 on the holder\'s clock; on the device\'s own clock it is 900 s after boot, and the device accepts the activation',
      );
    }
  }

  const document = policyDocument({
    descriptor: wallet.descriptor,
    riskPublicKey: keys.riskPublicKey,
    deniedScript: denied.script,
    limits: { maxPerOutput: 100_000_000n, maxPerTransaction: 2_000_000_000n },
    nowSeconds: Math.floor(Date.now() / 1000),
  });
  const policy = await signPolicy(sup, tools.signer, ceremony, document, dir('policy'), cwd);
  say.step(
    `policy v1 (sha256 ${policy.hash.slice(0, 16)}…) signed by ${policy.officers.join(' + ')} (2 of 3 officers), checked with policy verify; intent key = the coordinator's risk key; deny list: ${denied.script} (${denied.address})`,
  );
  const pushed = await coordinatorCli.policyPush(policy.bundle);
  say.step(
    `policy push: ${Object.entries(pushed)
      .map(([id, r]) => `${id} v${r.version}`)
      .join(', ')} accepted`,
  );
  const registered = await coordinatorCli.walletRegister(policy.bundle);
  say.step(
    `wallet register: ${Object.entries(registered)
      .map(([id, r]) => `${id} '${r.name}'`)
      .join(', ')} (wallet id ${Object.values(registered)[0]?.walletId.slice(0, 16) ?? '?'}…)`,
  );

  sys.exchangeKey = await coordinatorCli.apiKey('exchange-backend', 'exchange');
  sys.operatorKey = await coordinatorCli.apiKey('ops-demo', 'operator');
  sys.onlineDenyList = coordinatorCli.configure({
    largeDeposit: LARGE_DEPOSIT,
    signTimeoutMs: SIGN_TIMEOUT_MS,
  });
  if (sys.onlineDenyList.includes(denied.script)) {
    throw new DemoError(
      'demo/setup: expected the online deny list without the device-denied script, got it listed',
    );
  }
  say.step(
    `API keys created (exchange, operator); config: deposits delayed from ${Number(LARGE_DEPOSIT) / 1e8} BTC, payouts polled every 400 ms, sign timeout ${SIGN_TIMEOUT_MS / 1000} s; online deny list: ${sys.onlineDenyList.length} script(s), not the device-denied one`,
  );

  checkpoint();
  say.heading('Coordinator daemon (keyline-coordinator serve: SQLite + embedded devnet)');
  const served = await coordinatorCli.serve(START_TIMEOUT_MS);
  sys.coordinator = served.child;
  sys.serveInfo = served.info;
  say.step(`serving: API ${served.info.api}, devnet RPC ${served.info.devnet}`);
  return sys;
}
