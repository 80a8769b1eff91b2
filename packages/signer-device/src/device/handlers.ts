/**
 * The RPC surface of the signer: one handler per wire method, each calling the Signer method of
 * the same name. A SignerError leaves as the WireError of its table entry's `wire` code, with the
 * same message (messages never carry key material: errors.ts). POLICY_REFUSED carries the refusal
 * report `{rule, output, input, detail}` the coordinator forwards to the online risk system; other
 * refusals and state errors carry `{code, reason, input, output}` as data. Anything that is not a
 * SignerError is rethrown as is: the RPC server answers INTERNAL without its message.
 */
import {
  type RefusalReport,
  type RpcHandlers,
  refusalReport,
  WireError,
} from '@keyline/wire-protocol';
import { isSignerError, SIGNER_ERROR_CODES, type SignerError } from '../errors.js';
import type { Signer } from './signer.js';

const MAX_DETAIL = 512;

const uintOrNull = (v: unknown): number | null =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;

const textOrEmpty = (v: unknown): string =>
  typeof v === 'string' ? v.replace(/\p{Cs}/gu, '\ufffd').slice(0, MAX_DETAIL) : '';

/** The report of a POLICY_REFUSED error, or null when its detail is not a report. */
export function refusalReportOf(e: SignerError): RefusalReport | null {
  if (e.code !== 'POLICY_REFUSED') return null;
  const d = e.detail;
  const rule = typeof d.rule === 'string' && d.rule.length > 0 ? d.rule.slice(0, 64) : 'policy';
  const report = {
    rule,
    output: uintOrNull(d.output),
    input: uintOrNull(d.input),
    detail: textOrEmpty(
      typeof d.reason === 'string' && typeof d.detail === 'string'
        ? `${d.reason}: ${d.detail}`
        : (d.reason ?? d.detail),
    ),
  };
  const parsed = refusalReport.safeParse(report);
  return parsed.success ? parsed.data : null;
}

/** The data carried next to a non-policy error: codes and positions only, never values. */
function errorData(e: SignerError): Record<string, unknown> {
  const d = e.detail;
  const data: Record<string, unknown> = { code: e.code };
  if (typeof d.reason === 'string') data.reason = d.reason.slice(0, 64);
  const input = uintOrNull(d.input);
  const output = uintOrNull(d.output);
  if (input !== null) data.input = input;
  if (output !== null) data.output = output;
  if (typeof d.state === 'string') data.state = d.state.slice(0, 16);
  return data;
}

/** The WireError a SignerError answers as. */
export function toWireError(e: SignerError): WireError {
  const wire = SIGNER_ERROR_CODES[e.code].wire;
  if (e.code === 'POLICY_REFUSED') {
    const report = refusalReportOf(e);
    return new WireError(wire, e.message, report === null ? {} : { data: report });
  }
  // BAD_PARAMS data must be an issue report; a signer's own malformed errors carry none.
  if (wire === 'BAD_PARAMS') return new WireError(wire, e.message);
  return new WireError(wire, e.message, { data: errorData(e) });
}

async function mapped<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (isSignerError(e)) throw toWireError(e);
    throw e;
  }
}

/** The device's RPC handlers over `signer`. */
export function signerHandlers(signer: Signer): RpcHandlers {
  const handlers: RpcHandlers = {
    ping: (p) => mapped(() => signer.ping(p)),
    get_info: () => mapped(() => signer.getInfo()),
    get_xpub: () => mapped(() => signer.getXpub()),
    unlock_status: () => mapped(() => signer.unlockStatus()),
    activate: (p) => mapped(() => signer.activate(p)),
    register_wallet: (p) => mapped(() => signer.registerWallet(p)),
    update_policy: (p) => mapped(() => signer.updatePolicy(p)),
    sign_psbt: (p) => mapped(() => signer.signPsbt(p)),
    pause: (p) => mapped(() => signer.pause(p)),
    resume: (p) => mapped(() => signer.resume(p)),
    get_audit_log: (p) => mapped(() => signer.getAuditLog(p)),
    lock: () => mapped(() => signer.lock()),
  };
  return Object.freeze(handlers);
}
