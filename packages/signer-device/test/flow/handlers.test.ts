/** SignerError → WireError mapping of the RPC handlers: codes from the table, reports as data. */
import { ERROR_CODES, refusalReport, WireError } from '@keyline/wire-protocol';
import { describe, expect, it } from 'vitest';
import { refusalReportOf, toWireError } from '../../src/device/handlers.js';
import { SIGNER_ERROR_CODES, SignerError, type SignerErrorCode } from '../../src/errors.js';

describe('toWireError', () => {
  it("maps every signer code to its table entry's wire code, message kept", () => {
    for (const code of Object.keys(SIGNER_ERROR_CODES) as SignerErrorCode[]) {
      const w = toWireError(new SignerError(code, `place: expected x, got y (${code})`));
      expect(w).toBeInstanceOf(WireError);
      expect(w.code).toBe(SIGNER_ERROR_CODES[code].wire);
      expect(w.number).toBe(ERROR_CODES[SIGNER_ERROR_CODES[code].wire].code);
      expect(w.message).toBe(`place: expected x, got y (${code})`);
    }
  });

  it('carries the refusal report of POLICY_REFUSED in the wire schema', () => {
    const e = new SignerError('POLICY_REFUSED', 'sign-flow/policy: refused', {
      reason: 'DESTINATION_DENIED',
      rule: 'rules[0].denyDestinations',
      output: 2,
      input: null,
      detail: 'output 2 script is on the deny list',
    });
    const w = toWireError(e);
    expect(w.data).toEqual({
      rule: 'rules[0].denyDestinations',
      output: 2,
      input: null,
      detail: 'DESTINATION_DENIED: output 2 script is on the deny list',
    });
    expect(refusalReport.safeParse(w.data).success).toBe(true);
  });

  it('bounds the report: long details are cut, bad positions become null', () => {
    const report = refusalReportOf(
      new SignerError('POLICY_REFUSED', 'x', {
        rule: 'r'.repeat(100),
        output: -1,
        detail: 'd'.repeat(2000),
      }),
    );
    expect(report?.rule).toHaveLength(64);
    expect(report?.output).toBeNull();
    expect(report?.detail.length).toBeLessThanOrEqual(512);
    expect(refusalReportOf(new SignerError('LOCKED', 'x'))).toBeNull();
  });

  it('forwards only codes and positions of other errors, never other detail fields', () => {
    const w = toWireError(
      new SignerError('VERIFICATION_FAILED', 'verify-psbt/input 1: foreign', {
        reason: 'FOREIGN_INPUT',
        input: 1,
        script: 'deadbeef',
        secretish: new Uint8Array(32).fill(7),
      }),
    );
    expect(w.data).toEqual({ code: 'VERIFICATION_FAILED', reason: 'FOREIGN_INPUT', input: 1 });
    const s = toWireError(
      new SignerError('NOT_ARMED', 'x', { state: 'unlocked', reason: 'INVALID_TRANSITION' }),
    );
    expect(s.data).toEqual({ code: 'NOT_ARMED', reason: 'INVALID_TRANSITION', state: 'unlocked' });
  });

  it('sends malformed-input errors as BAD_PARAMS without data (its data is an issue report)', () => {
    const w = toWireError(new SignerError('BAD_POLICY', 'policy/document: bad', { reason: 'X' }));
    expect(w.code).toBe('BAD_PARAMS');
    expect(w.data).toBeUndefined();
  });
});
