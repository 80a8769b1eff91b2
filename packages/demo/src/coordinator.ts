/**
 * The coordinator's side of the setup, through `keyline-coordinator` as docs/operations.md has an
 * operator run it: `init`, `device enroll`, `wallet show`, `device activate`, `policy push`,
 * `wallet register`, `apikey create`, then `serve`. Every answer is JSON on stdout and is parsed
 * with a zod schema here (this process trusts no tool's output shape blindly). The commands that
 * talk to devices open the serial lines themselves, so they all run before `serve`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NETWORK } from './ceremony.js';
import { z } from './deps.js';
import type { ChildHandle, Supervisor, Tool } from './processes.js';
import { DemoError } from './wait.js';

const CLI_TIMEOUT_MS = 60_000;
/** Device commands wait for the link to come up and the handshake at 115200 baud. */
const DEVICE_CLI_TIMEOUT_MS = 90_000;
const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`));

function parseJson<T>(schema: z.ZodType<T>, text: string, place: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new DemoError(`demo/${place}: expected JSON on stdout, got ${text.slice(0, 200)}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new DemoError(
      `demo/${place}: expected ${place}'s JSON answer, got issues ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    );
  }
  return parsed.data;
}

/** What the demo changes in the generated config.json before `serve`. */
export interface ServeSettings {
  /** Deposits at or above this amount (sat) are delayed for review. */
  readonly largeDeposit: bigint;
  readonly signTimeoutMs: number;
}

export interface ServeInfo {
  readonly api: string;
  readonly devnet: string;
}

export class CoordinatorCli {
  readonly configPath: string;

  constructor(
    private readonly sup: Supervisor,
    private readonly tool: Tool,
    readonly dir: string,
    private readonly cwd: string,
  ) {
    this.configPath = join(dir, 'config.json');
  }

  async #run(name: string, args: readonly string[], timeoutMs = CLI_TIMEOUT_MS) {
    return (
      await this.sup.run(`coordinator-${name}`, this.tool, args, { timeoutMs, cwd: this.cwd })
    ).stdout;
  }

  /** `device activate` that the device must refuse; returns the CLI's error line. */
  async activateRefused(id: string, activationFile: string): Promise<string> {
    const r = await this.sup.run(
      `coordinator-activate-refused-${id}`,
      this.tool,
      [
        'device',
        'activate',
        '--config',
        this.configPath,
        '--id',
        id,
        '--activation',
        activationFile,
      ],
      { timeoutMs: DEVICE_CLI_TIMEOUT_MS, cwd: this.cwd, expectFailure: true },
    );
    return r.stderr.trim().split('\n').pop() ?? '';
  }

  async init(): Promise<{ riskPublicKey: string; linkPublicKey: string }> {
    const out = await this.#run('init', ['init', '--dir', this.dir, '--network', NETWORK]);
    return parseJson(
      z.object({ config: z.string(), riskPublicKey: hex(64), linkPublicKey: hex(64) }),
      out,
      'init',
    );
  }

  async enroll(d: {
    id: string;
    serial: string;
    baud: number;
    linkKey: string;
    keyOrigin: string;
  }) {
    const out = await this.#run(`enroll-${d.id}`, [
      'device',
      'enroll',
      '--config',
      this.configPath,
      '--id',
      d.id,
      '--serial',
      d.serial,
      '--baud',
      String(d.baud),
      '--link-key',
      d.linkKey,
      '--key-origin',
      d.keyOrigin,
    ]);
    return parseJson(z.object({ enrolled: z.string(), devices: z.number().int() }), out, 'enroll');
  }

  async walletShow(): Promise<{ descriptor: string; walletId: string; addresses: string[] }> {
    const out = await this.#run('wallet-show', ['wallet', 'show', '--config', this.configPath]);
    return parseJson(
      z.object({
        descriptor: z.string().min(1).max(4096),
        walletId: z.string(),
        addresses: z.array(z.string()),
      }),
      out,
      'wallet show',
    );
  }

  async activate(id: string, activationFile: string): Promise<string> {
    const out = await this.#run(
      `activate-${id}`,
      [
        'device',
        'activate',
        '--config',
        this.configPath,
        '--id',
        id,
        '--activation',
        activationFile,
      ],
      DEVICE_CLI_TIMEOUT_MS,
    );
    return parseJson(z.object({ device: z.string(), state: z.string() }), out, 'device activate')
      .state;
  }

  /** `policy push` / `wallet register`: one answer (or error text) per enrolled device. */
  async #toDevices<T>(name: string, args: readonly string[], ok: z.ZodType<T>) {
    const out = await this.#run(name, args, DEVICE_CLI_TIMEOUT_MS);
    const answers = parseJson(z.record(z.string(), z.unknown()), out, name);
    const result: Record<string, T> = {};
    for (const [id, answer] of Object.entries(answers)) {
      const parsed = ok.safeParse(answer);
      if (!parsed.success) {
        throw new DemoError(
          `demo/${name}: expected device ${id} to accept, got ${JSON.stringify(answer).slice(0, 400)}`,
        );
      }
      result[id] = parsed.data;
    }
    return result;
  }

  policyPush(bundleFile: string) {
    return this.#toDevices(
      'policy-push',
      ['policy', 'push', '--config', this.configPath, '--bundle', bundleFile],
      z.object({ version: z.number().int(), hash: hex(64) }),
    );
  }

  walletRegister(bundleFile: string) {
    return this.#toDevices(
      'wallet-register',
      ['wallet', 'register', '--config', this.configPath, '--approvals', bundleFile],
      z.object({ walletId: hex(64), name: z.string() }),
    );
  }

  async apiKey(name: string, role: 'exchange' | 'operator' | 'admin'): Promise<string> {
    const out = await this.#run(`apikey-${name}`, [
      'apikey',
      'create',
      '--config',
      this.configPath,
      '--name',
      name,
      '--role',
      role,
    ]);
    return parseJson(z.object({ key: z.string().regex(/^kl_[A-Za-z0-9_-]{43}$/) }), out, 'apikey')
      .key;
  }

  /** Edit the generated config.json for the demo; returns the online deny list it ends up with. */
  configure(s: ServeSettings): string[] {
    const raw: unknown = JSON.parse(readFileSync(this.configPath, 'utf8'));
    const shape = z.looseObject({
      risk: z.looseObject({
        withdrawal: z.looseObject({ denyScriptPubKeys: z.array(z.string()) }),
        deposit: z.looseObject({}),
      }),
      gateway: z.looseObject({}),
    });
    const parsed = shape.safeParse(raw);
    if (!parsed.success) {
      throw new DemoError(
        `demo/configure: expected init's config.json with risk and gateway sections, got ${parsed.error.issues[0]?.path.join('.') ?? '?'}`,
      );
    }
    const c = parsed.data;
    const edited = {
      ...c,
      api: { host: '127.0.0.1', port: 0 },
      chain: { kind: 'devnet', port: 0, dataFile: 'devnet.json' },
      payouts: {
        maxBatch: 100,
        intentTtlSeconds: 3600,
        confirmations: 1,
        feeTargetBlocks: 6,
        pollMs: 400,
      },
      deposits: { confirmations: 1 },
      risk: {
        ...c.risk,
        // JSON has no bigint: satoshis go into the file as a decimal string.
        deposit: { ...c.risk.deposit, largeAmount: s.largeDeposit.toString() },
      },
      gateway: { ...c.gateway, startHeight: 0, pollIntervalMs: 250 },
      devices: { signTimeoutMs: s.signTimeoutMs, infoTimeoutMs: 3_000 },
      logLevel: 'info',
    };
    writeFileSync(this.configPath, `${JSON.stringify(edited, null, 2)}\n`, { mode: 0o600 });
    return c.risk.withdrawal.denyScriptPubKeys;
  }

  /**
   * Add the hot/cold thresholds to config.json (docs/operations.md §4): sats as decimal strings,
   * the cold address as the operator would paste it. Takes effect at the next `serve`.
   */
  configureHotWallet(h: { highMark: bigint; lowMark: bigint; coldAddress: string }): void {
    const raw: unknown = JSON.parse(readFileSync(this.configPath, 'utf8'));
    const parsed = z.looseObject({}).safeParse(raw);
    if (!parsed.success) {
      throw new DemoError('demo/configureHotWallet: expected config.json to hold an object');
    }
    const edited = {
      ...parsed.data,
      hotWallet: {
        highMark: h.highMark.toString(),
        lowMark: h.lowMark.toString(),
        coldAddress: h.coldAddress,
      },
    };
    writeFileSync(this.configPath, `${JSON.stringify(edited, null, 2)}\n`, { mode: 0o600 });
  }

  /**
   * Start `serve`; resolves with the addresses it prints once it serves. `name` names the child
   * (and its log files): a restarted daemon gets its own.
   */
  async serve(
    timeoutMs: number,
    name = 'coordinator',
  ): Promise<{ child: ChildHandle; info: ServeInfo }> {
    const child = this.sup.spawn(name, this.tool, ['serve', '--config', this.configPath], {
      cwd: this.cwd,
      logToFiles: true,
    });
    const m = await child.waitForStdout(
      /^\{[\s\S]*?\n\}\s*$/m,
      'the {api, devnet} JSON',
      timeoutMs,
    );
    const info = parseJson(
      z.object({ api: z.string().url(), devnet: z.string().url() }),
      m[0],
      'coordinator serve',
    );
    return { child, info };
  }
}
