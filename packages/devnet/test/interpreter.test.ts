import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkInputScripts } from '../src/chain/input-checks.js';
import { makeTx } from '../src/consensus/tx.js';
import { NO_SIGNATURE_CHECKER, type SignatureChecker } from '../src/script/checker.js';
import { ScriptFailure } from '../src/script/errors.js';
import { FLAGS, MANDATORY_FLAGS, STANDARD_FLAGS } from '../src/script/flags.js';
import { castToBool, evalScript, findAndDelete } from '../src/script/interpreter.js';
import { key, p2wpkhScript, sortedMultisig, spendMultisig } from './helpers/chain.js';

function run(
  hex: string,
  flags: number = STANDARD_FLAGS,
  checker: SignatureChecker = NO_SIGNATURE_CHECKER,
  sigversion: 'base' | 'witness_v0' = 'base',
): { stack: string[] } | { error: string } {
  const stack: Uint8Array[] = [];
  try {
    evalScript(stack, hexToBytes(hex), flags, checker, sigversion);
    return { stack: stack.map((s) => bytesToHex(s)) };
  } catch (err) {
    if (err instanceof ScriptFailure) return { error: err.scriptError };
    throw err;
  }
}

describe('script interpreter (EvalScript)', () => {
  it('CastToBool treats negative zero as false', () => {
    expect(castToBool(new Uint8Array(0))).toBe(false);
    expect(castToBool(Uint8Array.of(0, 0))).toBe(false);
    expect(castToBool(Uint8Array.of(0, 0x80))).toBe(false);
    expect(castToBool(Uint8Array.of(0x80, 0))).toBe(true);
    expect(castToBool(Uint8Array.of(1))).toBe(true);
  });

  it('FindAndDelete matches whole ops only (cases from Core script_tests.cpp script_FindAndDelete)', () => {
    const cases: [string, string, string, number][] = [
      ['5152', '52', '51', 1],
      ['0302ff030302ff03', '0302ff03', '', 2],
      ['0302ff030302ff03', '02', '0302ff030302ff03', 0],
      ['0302ff030302ff03', 'ff', '0302ff030302ff03', 0],
      ['0302ff030302ff03', '03', '02ff0302ff03', 2],
      ['0003feed', '00', '03feed', 1],
    ];
    for (const [s, d, expect_, n] of cases) {
      const r = findAndDelete(hexToBytes(s), hexToBytes(d));
      expect([bytesToHex(r.script), r.found]).toEqual([expect_, n]);
    }
  });

  it('runs arithmetic, stack and hash opcodes', () => {
    expect(run('52539355')).toEqual({ stack: ['05', '05'] });
    expect(run('5253935587')).toEqual({ stack: ['01'] });
    expect(run('00a8')).toEqual({
      stack: ['e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    });
    expect(run('515293')).toEqual({ stack: ['03'] });
    expect(run('4f8f')).toEqual({ stack: ['01'] });
    expect(run('51526e')).toEqual({ stack: ['01', '02', '01', '02'] });
    expect(run('5152536f')).toEqual({ stack: ['01', '02', '03', '01', '02', '03'] });
    expect(run('5152535470')).toEqual({ stack: ['01', '02', '03', '04', '01', '02'] });
    expect(run('51525354555671')).toEqual({ stack: ['03', '04', '05', '06', '01', '02'] });
    expect(run('5152535472')).toEqual({ stack: ['03', '04', '01', '02'] });
    expect(run('5152537b')).toEqual({ stack: ['02', '03', '01'] });
    expect(run('51527d')).toEqual({ stack: ['02', '01', '02'] });
    expect(run('5152535279')).toEqual({ stack: ['01', '02', '03', '01'] });
    expect(run('515253527a')).toEqual({ stack: ['02', '03', '01'] });
    expect(run('51527c77')).toEqual({ stack: ['01'] });
  });

  it("fails with Core's errors: disabled opcode even unexecuted, unbalanced IF, OP_RETURN, minimal data, op count", () => {
    expect(run('00637e6851')).toEqual({ error: 'DISABLED_OPCODE' });
    expect(run('5163')).toEqual({ error: 'UNBALANCED_CONDITIONAL' });
    expect(run('6a')).toEqual({ error: 'OP_RETURN' });
    expect(run('0101')).toEqual({ error: 'MINIMALDATA' });
    expect(run('0101', MANDATORY_FLAGS)).toEqual({ stack: ['01'] });
    expect(run('61'.repeat(202))).toEqual({ error: 'OP_COUNT' });
    expect(run('0065')).toEqual({ error: 'BAD_OPCODE' });
    expect(run('75')).toEqual({ error: 'INVALID_STACK_OPERATION' });
    expect(run('4c')).toEqual({ error: 'BAD_OPCODE' });
    expect(run('b0', STANDARD_FLAGS)).toEqual({ error: 'DISCOURAGE_UPGRADABLE_NOPS' });
    expect(run('0500000000ff', STANDARD_FLAGS & ~FLAGS.MINIMALDATA)).toEqual({
      stack: ['00000000ff'],
    });
  });

  it('enforces MINIMALIF in witness scripts only', () => {
    expect(run('020100635168', STANDARD_FLAGS, NO_SIGNATURE_CHECKER, 'witness_v0')).toEqual({
      error: 'MINIMALIF',
    });
    expect(run('020100635168', STANDARD_FLAGS, NO_SIGNATURE_CHECKER, 'base')).toEqual({
      stack: ['01'],
    });
  });

  it('checks lock times through the checker (CLTV, CSV)', () => {
    const checker: SignatureChecker = {
      ...NO_SIGNATURE_CHECKER,
      checkLockTime: (n) => n <= 100n,
      checkSequence: (n) => n <= 10n,
    };
    expect(run('0164b1', STANDARD_FLAGS, checker)).toEqual({ stack: ['64'] });
    expect(run('0165b1', STANDARD_FLAGS, checker)).toEqual({ error: 'UNSATISFIED_LOCKTIME' });
    expect(run('4fb1', STANDARD_FLAGS, checker)).toEqual({ error: 'NEGATIVE_LOCKTIME' });
    expect(run('5ab2', STANDARD_FLAGS, checker)).toEqual({ stack: ['0a'] });
    expect(run('5bb2', STANDARD_FLAGS, checker)).toEqual({ error: 'UNSATISFIED_LOCKTIME' });
  });
});

describe('2-of-3 P2WSH properties', () => {
  const ms = sortedMultisig(2, [key('prop-a'), key('prop-b'), key('prop-c')]);
  const utxo = { txid: '44'.repeat(32), vout: 0, value: 1_000_000n, script: ms.script };
  const coin = [{ value: utxo.value, script: utxo.script, height: 1, coinbase: false }];
  const dest = p2wpkhScript(key('prop-dest').publicKey);
  const pairs: [number, number][] = [
    [0, 1],
    [0, 2],
    [1, 2],
  ];

  it('any two of the three keys verify when in key order, and fail reversed', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...pairs),
        fc.bigInt({ min: 1000n, max: 999_000n }),
        ([i, j], value) => {
          const signers = [ms.keys[i], ms.keys[j]] as [(typeof ms.keys)[0], (typeof ms.keys)[0]];
          const tx = spendMultisig(ms, [utxo], [{ value, script: dest }], signers);
          expect(checkInputScripts(tx, coin, STANDARD_FLAGS)).toBeNull();
          const reversed = spendMultisig(
            ms,
            [utxo],
            [{ value, script: dest }],
            [signers[1], signers[0]],
          );
          expect(checkInputScripts(reversed, coin, STANDARD_FLAGS)?.reason).toBe(
            'mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)',
          );
        },
      ),
      { numRuns: 12 },
    );
  });

  it('signatures committed to one output amount fail for any other amount', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1000n, max: 999_000n }),
        fc.bigInt({ min: 1n, max: 500n }),
        (value, delta) => {
          const signed = spendMultisig(ms, [utxo], [{ value, script: dest }]);
          const moved = makeTx({
            version: signed.version,
            lockTime: signed.lockTime,
            inputs: signed.inputs,
            outputs: [{ value: value + delta, script: dest }],
          });
          expect(checkInputScripts(signed, coin, MANDATORY_FLAGS)).toBeNull();
          // Standard flags (NULLFAIL) report the non-empty failed signature; consensus flags alone a false result.
          expect(checkInputScripts(moved, coin, STANDARD_FLAGS)?.reason).toBe(
            'mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)',
          );
          expect(checkInputScripts(moved, coin, MANDATORY_FLAGS)?.reason).toBe(
            'mandatory-script-verify-flag-failed (Script evaluated without error but finished with a false/empty top stack element)',
          );
        },
      ),
      { numRuns: 8 },
    );
  });
});
