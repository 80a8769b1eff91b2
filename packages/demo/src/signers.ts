/**
 * The three signer devices as processes: each gets its serial line (two pty pairs and the paced
 * relay, relay.ts), a serve configuration pinning the three holders, the three officers and the
 * coordinator's link key, and a `keyline-signer serve` daemon on its end of the line. The daemon
 * unlocks its key with the passphrase file (automation only: on a device the holder types it on
 * the console), prints the KEYLINE ACTIVATION v1 challenge on its console (stdout), and serves.
 *
 * Activation, 2 of 3: the challenge is signed by the NEXT device's holder (`sign-activation`),
 * never by the holder who unlocked it — the configuration names each device's own holder
 * (`ownHolderKeyId`), so the device itself refuses its own holder's signature — and the coordinator
 * delivers the signed activation over the line (`keyline-coordinator device activate`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Ceremony, type DeviceKey, NETWORK, type PersonKey } from './ceremony.js';
import type { CoordinatorCli } from './coordinator.js';
import { z } from './deps.js';
import type { ChildHandle, Supervisor, Tool } from './processes.js';
import { type LineFaults, openSerialLine, type SerialLine } from './relay.js';
import { DemoError } from './wait.js';

const ACTIVATION_BLOCK = /(KEYLINE ACTIVATION v1\r?\n(?:[^\n]*\n){4}check[^\n]*)/;

export interface RunningSigner {
  readonly id: string;
  readonly key: DeviceKey;
  /** The holder who unlocked it (its own) and the holder who activates it (the next one). */
  readonly ownHolder: PersonKey;
  readonly activator: PersonKey;
  readonly line: SerialLine;
  readonly process: ChildHandle;
  readonly configFile: string;
  /** Set when the demo killed it on purpose. */
  killed: boolean;
}

const pin = (p: PersonKey) => ({ keyId: p.keyId, publicKey: p.publicKey });

/** Serial line, configuration, daemon; resolves once the daemon serves on its line. */
export async function startSigner(
  sup: Supervisor,
  signer: Tool,
  options: {
    readonly index: number;
    readonly ceremony: Ceremony;
    readonly coordinatorLinkKey: string;
    readonly dir: string;
    readonly baud: number;
    /** Line faults injected by the relay (`--faults`). */
    readonly faults?: LineFaults;
    readonly cwd: string;
    readonly timeoutMs: number;
  },
): Promise<RunningSigner> {
  const { index, ceremony } = options;
  const key = ceremony.devices[index];
  const ownHolder = ceremony.holders[index];
  const activator = ceremony.holders[(index + 1) % ceremony.holders.length];
  if (key === undefined || ownHolder === undefined || activator === undefined) {
    throw new DemoError(`demo/signers: expected device ${index} of the ceremony, got none`);
  }
  const stateDir = join(options.dir, 'state');
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const line = await openSerialLine(join(options.dir, 'line'), options.baud, options.faults);
  const configFile = join(options.dir, 'serve.json');
  const config = {
    port: line.devicePath,
    baud: options.baud,
    keyFile: key.keyFile,
    stateDir,
    network: NETWORK,
    deviceId: key.id,
    coordinatorLinkKey: options.coordinatorLinkKey,
    holders: ceremony.holders.map(pin),
    ownHolderKeyId: ownHolder.keyId,
    officers: ceremony.officers.map(pin),
    officerThreshold: 2,
    activationTtlSeconds: 900,
    changeWindow: 100,
    refusalLockout: { max: 20, windowSeconds: 3600 },
    passphraseFile: key.passphraseFile,
    logLevel: 'info',
  };
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  const child = sup.spawn(
    key.id,
    signer,
    ['serve', '--config', configFile, '--provision', '--insecure-test-kdf'],
    // No inspector may be inherited: the daemon refuses to start with a debugger attached.
    { cwd: options.cwd, env: { ...process.env, NODE_OPTIONS: '' }, logToFiles: true },
  );
  try {
    await child.waitForLog((r) => r.msg === 'serving', 'the "serving" log line', options.timeoutMs);
  } catch (e) {
    await line.close();
    throw e;
  }
  return { id: key.id, key, ownHolder, activator, line, process: child, configFile, killed: false };
}

const activationSchema = z.object({
  deviceId: z.string(),
  challenge: z.string().regex(/^[0-9a-f]{64}$/),
  bootNonce: z.string().regex(/^[0-9a-f]{64}$/),
  expiresAt: z.number().int(),
  holderKeyId: z.string(),
  signature: z.string().regex(/^[0-9a-f]{128}$/),
});

/** The challenge on the device's console, signed by `holder` (`sign-activation`); the file. */
async function signChallenge(
  sup: Supervisor,
  signerTool: Tool,
  s: RunningSigner,
  holder: PersonKey,
  dir: string,
  cwd: string,
): Promise<{ file: string; challenge: string; looksExpired: boolean }> {
  const m = ACTIVATION_BLOCK.exec(s.process.stdout());
  if (m?.[1] === undefined) {
    throw new DemoError(
      `demo/activate: expected the KEYLINE ACTIVATION v1 block on ${s.id}'s console, got ${s.process.stdout().slice(0, 300)}`,
    );
  }
  const { stdout, stderr } = await sup.run(
    `sign-activation-${s.id}-${holder.name}`,
    signerTool,
    [
      'sign-activation',
      '--network',
      NETWORK,
      '--key',
      holder.keyFile,
      '--challenge',
      '-',
      '--passphrase-file',
      holder.passphraseFile,
      '--insecure-test-kdf',
    ],
    { input: `${m[1]}\n`, timeoutMs: 60_000, cwd },
  );
  const parsed = activationSchema.safeParse(JSON.parse(stdout));
  if (!parsed.success || parsed.data.holderKeyId !== holder.keyId) {
    throw new DemoError(
      `demo/activate: expected a signed activation by ${holder.name}, got ${stdout.slice(0, 300)}`,
    );
  }
  const file = join(dir, `activation-${s.id}-${holder.name}.json`);
  writeFileSync(file, stdout, { mode: 0o600, flag: 'wx' });
  return {
    file,
    challenge: parsed.data.challenge,
    looksExpired: stderr.includes('already expired'),
  };
}

/**
 * The attack the pinned own holder stops: the holder who unlocked the device (and so knows its
 * passphrase) signs its activation too — one person as both factors. The device must refuse it;
 * returns the coordinator CLI's error line. The challenge stays pending (docs: other refusals keep
 * it), so the real activation follows.
 */
export async function ownHolderActivationRefused(
  sup: Supervisor,
  signerTool: Tool,
  coordinator: CoordinatorCli,
  s: RunningSigner,
  dir: string,
  cwd: string,
): Promise<string> {
  const signed = await signChallenge(sup, signerTool, s, s.ownHolder, dir, cwd);
  const error = await coordinator.activateRefused(s.id, signed.file);
  // The device answers wire error 2003 UNAUTHORIZED ("expected a second holder, got this
  // device's own holder key"); the CLI prints it on one line.
  if (!/\b2003\b|UNAUTHORIZED/.test(error) || !/own holder|OWN_HOLDER/.test(error)) {
    throw new DemoError(
      `demo/activate: expected ${s.id} to refuse its own holder's activation as UNAUTHORIZED, got ${error}`,
    );
  }
  return error;
}

/** The challenge from the device's console → signed by the activating holder → delivered. */
export async function activateSigner(
  sup: Supervisor,
  signerTool: Tool,
  coordinator: CoordinatorCli,
  s: RunningSigner,
  dir: string,
  cwd: string,
): Promise<{ state: string; challenge: string; looksExpired: boolean }> {
  const signed = await signChallenge(sup, signerTool, s, s.activator, dir, cwd);
  const state = await coordinator.activate(s.id, signed.file);
  return { state, challenge: signed.challenge, looksExpired: signed.looksExpired };
}
