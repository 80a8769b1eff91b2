import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeStrict, encodeCanonical } from '../src/cbor.js';
import {
  isMethodName,
  MAX_AUDIT_BODY_BYTES,
  MAX_INTENTS,
  MAX_POLICY_BYTES,
  MAX_PSBT_BYTES,
  METHOD_NAMES,
  METHODS,
  type MethodName,
} from '../src/methods.js';
import { DEVICE_STATES, MAX_SATS, NETWORKS, PROTOCOL_VERSION } from '../src/schemas.js';

// ---------------------------------------------------------------------------------------------
// Arbitraries for valid values, one pair (params, result) per method

const bytesA = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const bytesN = (n: number) => bytesA(n, n);
/** Well-formed text of min..max UTF-16 code units (a code point is at most two units). */
const textA = (min: number, max: number) =>
  fc.string({ unit: 'binary', minLength: min, maxLength: Math.floor(max / 2) });
const idA = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 64,
});
const uintA = fc.oneof(fc.nat(1000), fc.maxSafeNat());
const satsA = fc.oneof(
  fc.bigInt({ min: 0n, max: MAX_SATS }),
  fc.bigInt({ min: 0n, max: MAX_SATS }).map(Number),
  fc.constantFrom(0n, MAX_SATS, 2_100_000_000_000_000),
);
const stateA = fc.constantFrom(...DEVICE_STATES);
const approvalA = fc.record({ keyId: textA(1, 64), signature: bytesN(64) });
const approvalsA = (min: number, max: number) =>
  fc.array(approvalA, { minLength: min, maxLength: max });
const stateResultA = fc.record({ state: stateA });
const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const bip32PathA = fc
  .array(fc.tuple(fc.nat(0x7fffffff), fc.boolean()), { maxLength: 6 })
  .map((steps) => ['m', ...steps.map(([i, h]) => `${i}${h ? "'" : ''}`)].join('/'));

const ARBITRARIES: {
  [M in MethodName]: { params: fc.Arbitrary<unknown>; result: fc.Arbitrary<unknown> };
} = {
  ping: {
    params: fc.record({ nonce: bytesA(0, 32) }),
    result: fc.record({ nonce: bytesA(0, 32), uptimeMs: uintA }),
  },
  get_info: {
    params: fc.constant({}),
    result: fc.record({
      protocolVersion: fc.constant(PROTOCOL_VERSION),
      deviceId: idA,
      firmware: textA(1, 64),
      network: fc.constantFrom(...NETWORKS),
      state: stateA,
      fingerprint: fc.option(bytesN(4), { nil: null }),
      policyVersion: fc.option(uintA, { nil: null }),
      wallets: uintA,
    }),
  },
  get_xpub: {
    params: fc.constant({}),
    result: fc.record({
      xpub: fc.string({ unit: fc.constantFrom(...BASE58), minLength: 1, maxLength: 200 }),
      fingerprint: bytesN(4),
      path: bip32PathA,
    }),
  },
  unlock_status: {
    params: fc.constant({}),
    result: fc.record({
      state: stateA,
      activation: fc.option(
        fc.record({ challenge: bytesN(32), bootNonce: bytesN(32), expiresAt: uintA }),
        { nil: null },
      ),
    }),
  },
  activate: {
    params: fc.record({
      activation: fc.record({
        deviceId: idA,
        challenge: bytesN(32),
        bootNonce: bytesN(32),
        expiresAt: uintA,
        holderKeyId: idA,
        signature: bytesN(64),
      }),
    }),
    result: stateResultA,
  },
  register_wallet: {
    params: fc.record({
      name: textA(1, 64),
      descriptor: textA(1, 4096),
      approvals: approvalsA(1, 16),
    }),
    result: fc.record({ walletId: bytesN(32), name: textA(1, 64) }),
  },
  update_policy: {
    params: fc.record({ document: bytesA(1, 2048), approvals: approvalsA(1, 16) }),
    result: fc.record({ version: uintA, hash: bytesN(32) }),
  },
  sign_psbt: {
    params: fc.record({
      wallet: textA(1, 64),
      psbt: bytesA(1, 1024),
      time: fc.record({ unixSeconds: uintA, height: uintA }),
      intents: fc.array(
        fc.record({
          withdrawalId: textA(1, 64),
          scriptPubKey: bytesA(1, 520),
          amount: satsA,
          expiresAt: uintA,
          signature: bytesN(64),
        }),
        { maxLength: 8 },
      ),
    }),
    result: fc.record({
      signatures: fc.array(
        fc.record({ input: uintA, pubkey: bytesN(33), signature: bytesA(9, 73) }),
        { maxLength: 16 },
      ),
      auditSeq: uintA,
    }),
  },
  pause: {
    params: fc.record({ reason: textA(0, 256), approval: approvalA }),
    result: stateResultA,
  },
  resume: { params: fc.record({ approvals: approvalsA(2, 16) }), result: stateResultA },
  get_audit_log: {
    params: fc.record({ fromSeq: uintA, limit: fc.integer({ min: 1, max: 1000 }) }),
    result: fc.record({
      entries: fc.array(
        fc.record({
          seq: uintA,
          time: uintA,
          kind: textA(1, 32),
          body: bytesA(0, 256),
          prevHash: bytesN(32),
          hash: bytesN(32),
        }),
        { maxLength: 8 },
      ),
      head: fc.record({ seq: uintA, hash: bytesN(32), signature: bytesN(64) }),
    }),
  },
  lock: { params: fc.constant({}), result: stateResultA },
};

const NUM_RUNS = 60;

function roundTrip(value: unknown): unknown {
  return decodeStrict(encodeCanonical(value));
}

// ---------------------------------------------------------------------------------------------
// Mutations: every object in every schema is strict and every key is required (nullable fields
// are present with null), and no schema anywhere accepts a boolean. So for ANY object reached
// inside a valid value: removing a key, adding a key, or replacing any node with `true` must fail.

type Path = (string | number)[];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Paths of every object (including the root) inside `v`. */
function objectPaths(v: unknown, path: Path = []): Path[] {
  const out: Path[] = [];
  if (isRecord(v)) {
    out.push(path);
    for (const [k, child] of Object.entries(v)) out.push(...objectPaths(child, [...path, k]));
  } else if (Array.isArray(v)) {
    v.forEach((child, i) => {
      out.push(...objectPaths(child, [...path, i]));
    });
  }
  return out;
}

/** Paths of every node below the root. */
function nodePaths(v: unknown, path: Path = []): Path[] {
  const out: Path[] = [];
  if (isRecord(v)) {
    for (const [k, child] of Object.entries(v)) {
      out.push([...path, k], ...nodePaths(child, [...path, k]));
    }
  } else if (Array.isArray(v)) {
    v.forEach((child, i) => {
      out.push([...path, i], ...nodePaths(child, [...path, i]));
    });
  }
  return out;
}

function clone(v: unknown): unknown {
  if (v instanceof Uint8Array) return v.slice();
  if (Array.isArray(v)) return v.map(clone);
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, c]) => [k, clone(c)]));
  return v;
}

function at(root: unknown, path: Path): unknown {
  let v = root;
  for (const step of path) v = (v as Record<string | number, unknown>)[step];
  return v;
}

function withChange(
  root: unknown,
  path: Path,
  change: (parent: Record<string | number, unknown>, key: string | number) => void,
): unknown {
  const copy = clone(root);
  const parentPath = path.slice(0, -1);
  const key = path[path.length - 1];
  if (key === undefined) throw new Error('test: empty path');
  change(at(copy, parentPath) as Record<string | number, unknown>, key);
  return copy;
}

type Mutation = { readonly name: string; apply(valid: unknown, pick: number): unknown | undefined };

const MUTATIONS: readonly Mutation[] = [
  {
    name: 'a required field removed',
    apply(valid, pick) {
      const withKeys = objectPaths(valid).filter(
        (p) => Object.keys(at(valid, p) as object).length > 0,
      );
      const objPath = withKeys[pick % Math.max(withKeys.length, 1)];
      if (objPath === undefined) return undefined;
      const keys = Object.keys(at(valid, objPath) as object);
      const key = keys[pick % keys.length];
      if (key === undefined) return undefined;
      return withChange(valid, [...objPath, key], (parent, k) => {
        delete parent[k];
      });
    },
  },
  {
    name: 'an unknown field added',
    apply(valid, pick) {
      const paths = objectPaths(valid);
      const objPath = paths[pick % paths.length];
      if (objPath === undefined) return undefined;
      const copy = clone(valid);
      (at(copy, objPath) as Record<string, unknown>).unexpected = 1;
      return copy;
    },
  },
  {
    name: 'a field of the wrong type',
    apply(valid, pick) {
      const paths = nodePaths(valid);
      const path = paths[pick % Math.max(paths.length, 1)];
      if (path === undefined) return true; // the root itself replaced
      return withChange(valid, path, (parent, k) => {
        parent[k] = true;
      });
    },
  },
];

describe('METHODS table', () => {
  it('has the twelve methods of DESIGN §3, each frozen with params, result and allowed states', () => {
    expect([...METHOD_NAMES].sort()).toEqual(
      [
        'activate',
        'get_audit_log',
        'get_info',
        'get_xpub',
        'lock',
        'pause',
        'ping',
        'register_wallet',
        'resume',
        'sign_psbt',
        'unlock_status',
        'update_policy',
      ].sort(),
    );
    expect(Object.isFrozen(METHODS)).toBe(true);
    for (const name of METHOD_NAMES) {
      const spec = METHODS[name];
      expect(Object.isFrozen(spec), name).toBe(true);
      expect(Object.isFrozen(spec.allowedStates), name).toBe(true);
      expect(spec.allowedStates.length, name).toBeGreaterThan(0);
      for (const s of spec.allowedStates) expect(DEVICE_STATES).toContain(s);
    }
  });

  it('lets only an armed device sign, and any device answer ping, get_info, unlock_status', () => {
    expect(METHODS.sign_psbt.allowedStates).toEqual(['armed']);
    for (const m of ['ping', 'get_info', 'unlock_status'] as const) {
      expect([...METHODS[m].allowedStates].sort()).toEqual([...DEVICE_STATES].sort());
    }
    expect(METHODS.resume.allowedStates).toEqual(['paused']);
    expect(METHODS.activate.allowedStates).toEqual(['unlocked']);
  });

  it('isMethodName knows own keys only', () => {
    expect(isMethodName('sign_psbt')).toBe(true);
    for (const n of [
      'constructor',
      'toString',
      '__proto__',
      'hasOwnProperty',
      'SIGN_PSBT',
      '',
      5,
    ]) {
      expect(isMethodName(n), String(n)).toBe(false);
    }
  });
});

describe.each(METHOD_NAMES)('%s', (name) => {
  const spec = METHODS[name];
  const arb = ARBITRARIES[name];

  for (const side of ['params', 'result'] as const) {
    it(`valid ${side} round-trip through CBOR to an equal value`, () => {
      fc.assert(
        fc.property(arb[side], (value) => {
          const parsed = spec[side].parse(value);
          const again = spec[side].parse(roundTrip(parsed));
          expect(again).toEqual(parsed);
          // Encoding is deterministic: the same value gives the same bytes.
          expect(encodeCanonical(again)).toEqual(encodeCanonical(parsed));
        }),
        { numRuns: NUM_RUNS },
      );
    });

    // Methods whose params are {} have no field to remove.
    const shape = (spec[side] as { shape?: object }).shape ?? {};
    const mutations = MUTATIONS.filter(
      (m) => m.name !== 'a required field removed' || Object.keys(shape).length > 0,
    );
    for (const mutation of mutations) {
      it(`${side} with ${mutation.name} are refused, before and after CBOR`, () => {
        fc.assert(
          fc.property(arb[side], fc.nat(), (value, pick) => {
            const mutated = mutation.apply(value, pick);
            fc.pre(mutated !== undefined);
            expect(spec[side].safeParse(mutated).success).toBe(false);
            expect(spec[side].safeParse(roundTrip(mutated)).success).toBe(false);
          }),
          { numRuns: NUM_RUNS },
        );
      });
    }
  }
});

describe('limits on the methods', () => {
  const sig = new Uint8Array(64);
  const intent = {
    withdrawalId: 'w-1',
    scriptPubKey: new Uint8Array(22),
    amount: 100_000n,
    expiresAt: 1,
    signature: sig,
  };
  const signParams = {
    wallet: 'hot',
    psbt: new Uint8Array(100),
    time: { unixSeconds: 1_700_000_000, height: 800_000 },
    intents: [intent],
  };

  it('sign_psbt refuses amounts above 21e14 sat or negative, as number or bigint', () => {
    for (const amount of [MAX_SATS + 1n, 2_100_000_000_000_001, -1, -1n, 2n ** 64n, 0.5]) {
      const r = METHODS.sign_psbt.params.safeParse({
        ...signParams,
        intents: [{ ...intent, amount }],
      });
      expect(r.success, String(amount)).toBe(false);
    }
    expect(
      METHODS.sign_psbt.params.parse({ ...signParams, intents: [{ ...intent, amount: MAX_SATS }] })
        .intents[0]?.amount,
    ).toBe(MAX_SATS);
  });

  it('sign_psbt amounts above 21e14 are refused after CBOR too', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: MAX_SATS + 1n, max: (1n << 64n) - 1n }), (amount) => {
        const wire = roundTrip({ ...signParams, intents: [{ ...intent, amount }] });
        expect(METHODS.sign_psbt.params.safeParse(wire).success).toBe(false);
      }),
      { numRuns: 50 },
    );
  });

  it('refuses byte strings one byte too long', () => {
    const cases: [MethodName, 'params' | 'result', unknown][] = [
      ['ping', 'params', { nonce: new Uint8Array(33) }],
      ['sign_psbt', 'params', { ...signParams, psbt: new Uint8Array(MAX_PSBT_BYTES + 1) }],
      [
        'sign_psbt',
        'params',
        { ...signParams, intents: [{ ...intent, scriptPubKey: new Uint8Array(521) }] },
      ],
      [
        'sign_psbt',
        'params',
        { ...signParams, intents: [{ ...intent, signature: new Uint8Array(65) }] },
      ],
      [
        'update_policy',
        'params',
        {
          document: new Uint8Array(MAX_POLICY_BYTES + 1),
          approvals: [{ keyId: 'k', signature: sig }],
        },
      ],
      [
        'sign_psbt',
        'result',
        {
          signatures: [{ input: 0, pubkey: new Uint8Array(33), signature: new Uint8Array(74) }],
          auditSeq: 1,
        },
      ],
      [
        'get_audit_log',
        'result',
        {
          entries: [
            {
              seq: 1,
              time: 1,
              kind: 'sign',
              body: new Uint8Array(MAX_AUDIT_BODY_BYTES + 1),
              prevHash: new Uint8Array(32),
              hash: new Uint8Array(32),
            },
          ],
          head: { seq: 1, hash: new Uint8Array(32), signature: sig },
        },
      ],
    ];
    for (const [method, side, value] of cases) {
      expect(METHODS[method][side].safeParse(value).success, `${method} ${side}`).toBe(false);
    }
    // The same values one byte shorter are accepted: the limit, not something else, refused them.
    expect(METHODS.ping.params.safeParse({ nonce: new Uint8Array(32) }).success).toBe(true);
    expect(
      METHODS.sign_psbt.params.safeParse({ ...signParams, psbt: new Uint8Array(MAX_PSBT_BYTES) })
        .success,
    ).toBe(true);
  });

  it('sign_psbt takes at most MAX_INTENTS intents', () => {
    const many = Array.from({ length: MAX_INTENTS + 1 }, () => intent);
    expect(METHODS.sign_psbt.params.safeParse({ ...signParams, intents: many }).success).toBe(
      false,
    );
    expect(
      METHODS.sign_psbt.params.safeParse({ ...signParams, intents: many.slice(1) }).success,
    ).toBe(true);
  });

  it('resume needs two approvals, get_audit_log a limit in 1..1000', () => {
    const a = { keyId: 'k', signature: sig };
    expect(METHODS.resume.params.safeParse({ approvals: [a] }).success).toBe(false);
    expect(METHODS.resume.params.safeParse({ approvals: [a, a] }).success).toBe(true);
    expect(METHODS.get_audit_log.params.safeParse({ fromSeq: 0, limit: 0 }).success).toBe(false);
    expect(METHODS.get_audit_log.params.safeParse({ fromSeq: 0, limit: 1001 }).success).toBe(false);
  });

  it('get_info reports protocol version 1 only', () => {
    const info = {
      protocolVersion: 2,
      deviceId: 'd',
      firmware: '1.0.0',
      network: 'regtest',
      state: 'locked',
      fingerprint: null,
      policyVersion: null,
      wallets: 0,
    };
    expect(METHODS.get_info.result.safeParse(info).success).toBe(false);
    expect(METHODS.get_info.result.safeParse({ ...info, protocolVersion: 1 }).success).toBe(true);
  });
});
