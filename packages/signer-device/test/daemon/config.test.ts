import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig, pinnedKeys } from '../../src/daemon/config.js';
import { isSignerError, type SignerError } from '../../src/errors.js';
import { testPublicKey, validConfig } from './fixtures.js';

function refusal(f: () => unknown): SignerError {
  try {
    f();
  } catch (e) {
    if (isSignerError(e)) return e;
    throw e;
  }
  throw new Error('expected a SignerError, nothing was thrown');
}

async function rejection(p: Promise<unknown>): Promise<SignerError> {
  try {
    await p;
  } catch (e) {
    if (isSignerError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection with a SignerError');
}

function fields(e: SignerError): string[] {
  return e.detail.fields as string[];
}

describe('parseConfig: accepted', () => {
  it('parses a valid configuration and applies defaults', () => {
    const input = validConfig();
    delete input.baud;
    delete input.logLevel;
    const config = parseConfig(input);
    expect(config.baud).toBe(115200);
    expect(config.logLevel).toBe('info');
    expect(config.holders).toHaveLength(3);
    expect(config.passphraseFile).toBeUndefined();
    expect(config.ownHolderKeyId).toBeNull();
  });

  it('accepts the device own holder when it is one of the pinned holders', () => {
    const config = parseConfig({ ...validConfig(), ownHolderKeyId: 'holder-b' });
    expect(config.ownHolderKeyId).toBe('holder-b');
  });

  it('normalises hex keys to lower case', () => {
    const input = { ...validConfig(), coordinatorLinkKey: 'AB'.repeat(32) };
    expect(parseConfig(input).coordinatorLinkKey).toBe('ab'.repeat(32));
  });

  it('is deep-frozen: assignments throw in strict mode', () => {
    const config = parseConfig(validConfig());
    const mutable = config as unknown as {
      baud: number;
      holders: { keyId: string }[];
      refusalLockout: { max: number };
    };
    expect(() => {
      mutable.baud = 9600;
    }).toThrow(TypeError);
    expect(() => {
      mutable.holders[0]!.keyId = 'attacker';
    }).toThrow(TypeError);
    expect(() => {
      mutable.holders.push({ keyId: 'fourth' });
    }).toThrow(TypeError);
    expect(() => {
      mutable.refusalLockout.max = 1_000_000;
    }).toThrow(TypeError);
    expect(config.baud).toBe(115200);
  });

  it('accepts a passphrase file off mainnet', () => {
    const config = parseConfig({ ...validConfig(), passphraseFile: '/run/keyline/pass' });
    expect(config.passphraseFile).toBe('/run/keyline/pass');
  });

  it('applies CLI overrides, baud as a decimal string, ignoring undefined ones', () => {
    const config = parseConfig(validConfig(), {
      port: '/dev/ttyGS0',
      baud: '9600',
      logLevel: 'debug',
      keyFile: undefined,
    });
    expect(config.port).toBe('/dev/ttyGS0');
    expect(config.baud).toBe(9600);
    expect(config.logLevel).toBe('debug');
    expect(config.keyFile).toBe('/var/lib/keyline/key.json');
  });

  it('pinnedKeys gives fresh bytes of the pinned keys', () => {
    const config = parseConfig(validConfig());
    const keys = pinnedKeys(config);
    expect(bytesToHex(keys.coordinatorLinkKey)).toBe('ab'.repeat(32));
    expect(keys.holders.map((h) => bytesToHex(h.publicKey))).toEqual([
      testPublicKey(1),
      testPublicKey(2),
      testPublicKey(3),
    ]);
    expect(keys.officers[2]?.keyId).toBe('officer-3');
  });
});

describe('parseConfig: refused with BAD_CONFIG naming the field', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['an unknown key (strict)', { extra: 1 }, '$'],
    ['a non-standard baud', { baud: 115201 }, 'baud'],
    ['a relative port path', { port: 'dev/ttyAMA0' }, 'port'],
    ['a relative state dir', { stateDir: './state' }, 'stateDir'],
    ['an unknown network', { network: 'bitcoin' }, 'network'],
    ['a device id with a space', { deviceId: 'signer a' }, 'deviceId'],
    ['a short link key', { coordinatorLinkKey: 'ab'.repeat(31) }, 'coordinatorLinkKey'],
    ['the all-zero link key', { coordinatorLinkKey: '00'.repeat(32) }, 'coordinatorLinkKey'],
    ['a negative activation TTL', { activationTtlSeconds: -1 }, 'activationTtlSeconds'],
    ['a zero change window', { changeWindow: 0 }, 'changeWindow'],
    [
      'a fractional lockout max',
      { refusalLockout: { max: 1.5, windowSeconds: 60 } },
      'refusalLockout.max',
    ],
    ['an unknown log level', { logLevel: 'verbose' }, 'logLevel'],
    ['a threshold above the officers', { officerThreshold: 4 }, 'officerThreshold'],
    ['a zero threshold', { officerThreshold: 0 }, 'officerThreshold'],
  ];
  for (const [name, patch, path] of cases) {
    it(name, () => {
      const e = refusal(() => parseConfig({ ...validConfig(), ...patch }));
      expect(e.code).toBe('BAD_CONFIG');
      expect(e.message.startsWith('daemon/config: expected')).toBe(true);
      expect(fields(e)).toContain(path);
    });
  }

  it('refuses an own holder that is not one of the pinned holders (the activation rule would guard nothing)', () => {
    const input = validConfig();
    const e = refusal(() => parseConfig({ ...input, ownHolderKeyId: 'holder-z' }));
    expect(fields(e)).toContain('ownHolderKeyId');
  });

  it('refuses two holders (the device pins exactly three)', () => {
    const input = validConfig();
    const e = refusal(() => parseConfig({ ...input, holders: input.holders.slice(0, 2) }));
    expect(fields(e)).toContain('holders');
  });

  it('refuses a duplicated holder key (a swap of one holder for a copy of another)', () => {
    const input = validConfig();
    const holders = [
      input.holders[0],
      input.holders[1],
      { keyId: 'holder-c', publicKey: input.holders[0]!.publicKey },
    ];
    const e = refusal(() => parseConfig({ ...input, holders }));
    expect(e.message).toContain('holders: expected distinct public keys');
  });

  it('refuses duplicated officer ids (one officer counted twice toward the threshold)', () => {
    const input = validConfig();
    const officers = [input.officers[0], { ...input.officers[1]!, keyId: 'officer-1' }];
    const e = refusal(() => parseConfig({ ...input, officers }));
    expect(e.message).toContain('officers: expected distinct keyIds');
  });

  it('refuses an officer key of small order (it would verify forged signatures)', () => {
    const input = validConfig();
    const identity = `01${'00'.repeat(31)}`;
    const officers = [input.officers[0], { keyId: 'officer-2', publicKey: identity }];
    const e = refusal(() => parseConfig({ ...input, officers, officerThreshold: 1 }));
    expect(fields(e)).toContain('officers.1.publicKey');
  });

  it('refuses a holder key that is not a curve point', () => {
    const input = validConfig();
    // y = 2 is not the y-coordinate of any Ed25519 point.
    const notOnCurve = `02${'00'.repeat(31)}`;
    const holders = [
      input.holders[0],
      input.holders[1],
      { keyId: 'holder-c', publicKey: notOnCurve },
    ];
    const e = refusal(() => parseConfig({ ...input, holders }));
    expect(fields(e)).toContain('holders.2.publicKey');
  });

  it('refuses a passphrase file on mainnet', () => {
    const e = refusal(() =>
      parseConfig({ ...validConfig(), network: 'mainnet', passphraseFile: '/run/pass' }),
    );
    expect(fields(e)).toEqual(['passphraseFile']);
  });

  it('names every bad field at once', () => {
    const e = refusal(() =>
      parseConfig({ ...validConfig(), baud: 1, port: 'x', officerThreshold: 'two' }),
    );
    expect(fields(e)).toEqual(expect.arrayContaining(['baud', 'port', 'officerThreshold']));
  });

  it('refuses a missing required field', () => {
    const input = validConfig();
    delete input.keyFile;
    expect(fields(refusal(() => parseConfig(input)))).toContain('keyFile');
  });

  it('refuses a non-object', () => {
    expect(refusal(() => parseConfig([1])).code).toBe('BAD_CONFIG');
    expect(refusal(() => parseConfig(null)).code).toBe('BAD_CONFIG');
  });

  it('refuses an override of a pinned setting (holders come only from the reviewed file)', () => {
    const e = refusal(() =>
      parseConfig(validConfig(), { holders: [] } as unknown as Record<string, string>),
    );
    expect(e.code).toBe('BAD_CONFIG');
    expect(fields(e)).toEqual(['override.holders']);
  });

  it('refuses a non-decimal baud override', () => {
    expect(fields(refusal(() => parseConfig(validConfig(), { baud: '0x1c200' })))).toEqual([
      'override.baud',
    ]);
  });

  it('never echoes values: a secret typed in the wrong field is not in the error', () => {
    const secret = 'correct horse battery staple';
    const e = refusal(() =>
      parseConfig({
        ...validConfig(),
        coordinatorLinkKey: secret,
        passphrase: secret,
        deviceId: secret,
        holders: [{ keyId: 'a', publicKey: secret, seed: secret }],
      }),
    );
    const everything = `${e.message} ${JSON.stringify(e.detail)}`;
    expect(everything).not.toContain('horse');
    expect(fields(e)).toEqual(
      expect.arrayContaining(['coordinatorLinkKey', 'deviceId', 'holders', '$']),
    );
  });
});

describe('loadConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyline-config-'));

  it('reads and parses a JSON file with overrides', async () => {
    const path = join(dir, 'ok.json');
    writeFileSync(path, JSON.stringify(validConfig()));
    const config = await loadConfigFile(path, { port: '/dev/pts/7' });
    expect(config.port).toBe('/dev/pts/7');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('refuses text that is not JSON without quoting it', async () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{"passphrase": "tr0ub4dor&3" oops');
    const e = await rejection(loadConfigFile(path));
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.message).toContain('expected JSON');
    expect(e.message).not.toContain('tr0ub4dor');
  });

  it('refuses invalid UTF-8', async () => {
    const path = join(dir, 'latin1.json');
    writeFileSync(path, new Uint8Array([0x7b, 0xff, 0x7d]));
    const e = await rejection(loadConfigFile(path));
    expect(e.code).toBe('BAD_CONFIG');
  });

  it('reports a missing file as IO', async () => {
    const e = await rejection(loadConfigFile(join(dir, 'absent.json')));
    expect(e.code).toBe('IO');
    expect(e.message).toContain('ENOENT');
  });
});
