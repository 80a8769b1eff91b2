/**
 * The Signature Task (issue 4 §5): get one payout's PSBT signed by two devices, read top to bottom.
 *
 *   1. choose   — order the enrolled devices: armed first, then by most recent success.
 *   2. ask      — send `sign_psbt` (the same PSBT, the same signed intents) to the first two, in
 *                 parallel: each device is on its own serial line.
 *   3. verify   — check every returned signature against the sighash and the cosigner key of its
 *                 input (an injected check: vault/finalize); a device whose reply does not verify
 *                 is treated as faulty, reported, and not used.
 *   4. failover — a device that is offline, times out, is not armed or answered badly is replaced
 *                 by the next candidate until two verified replies are in hand or none is left.
 *   5. refusal  — a device's REFUSAL (wire codes 2xxx: its policy said no) stops the payout at
 *                 once: it is never shopped around to find a more lenient device. The coded report
 *                 goes back to the caller, which holds the withdrawals for review.
 *
 * No database and no clock here: the caller persists the outcome.
 */
import {
  isWireError,
  type MethodParamsInput,
  type MethodResult,
  type WireError,
} from '@keyline/wire-protocol';
import type { DeviceReport } from '../service/contract.js';

export type SignatureReply = MethodResult<'sign_psbt'>['signatures'];

/** One enrolled device as the orchestrator sees it: an id and a way to call it. */
export interface SigningDevice {
  readonly deviceId: string;
  /** Last known state (`armed`, `paused`, ...) or `offline`. */
  readonly state: string;
  /** Unix ms of the last successful signature from it, or 0. */
  readonly lastSuccessAt: number;
  signPsbt(params: MethodParamsInput<'sign_psbt'>): Promise<MethodResult<'sign_psbt'>>;
}

export interface SignRequest {
  readonly params: MethodParamsInput<'sign_psbt'>;
  /** Throws when a device's signatures do not all verify for this PSBT. */
  readonly verify: (deviceId: string, signatures: SignatureReply) => void;
  readonly now: () => number;
  /** Signatures needed (2 for 2-of-3). */
  readonly threshold?: number;
}

export interface DeviceFault {
  readonly deviceId: string;
  readonly message: string;
}

export type SignOutcome =
  | {
      readonly kind: 'signed';
      readonly replies: readonly {
        readonly deviceId: string;
        readonly signatures: SignatureReply;
      }[];
      readonly faults: readonly DeviceFault[];
    }
  | {
      readonly kind: 'refused';
      readonly report: DeviceReport;
      readonly faults: readonly DeviceFault[];
    }
  | { readonly kind: 'unavailable'; readonly faults: readonly DeviceFault[] };

/** Step 1: armed devices first, most recently successful first, then by id for determinism. */
export function orderDevices(devices: readonly SigningDevice[]): SigningDevice[] {
  return [...devices].sort((a, b) => {
    const armed = Number(b.state === 'armed') - Number(a.state === 'armed');
    if (armed !== 0) return armed;
    if (b.lastSuccessAt !== a.lastSuccessAt) return b.lastSuccessAt - a.lastSuccessAt;
    return a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0;
  });
}

/** The reason code: the device's message ends with it in parentheses, e.g. `(DESTINATION_DENIED)`. */
function reasonOf(e: WireError): string | null {
  const d = e.data;
  if (
    typeof d === 'object' &&
    d !== null &&
    typeof (d as { reason?: unknown }).reason === 'string'
  ) {
    return (d as { reason: string }).reason.slice(0, 128);
  }
  const m = /\(([A-Z][A-Z0-9_]{2,63})\)\s*$/.exec(e.message);
  return m?.[1] ?? null;
}

/** The refusing rule of a policy refusal (wire schemas refusalReport). */
function ruleOf(e: WireError): string | null {
  const d = e.data;
  if (typeof d === 'object' && d !== null && typeof (d as { rule?: unknown }).rule === 'string') {
    return (d as { rule: string }).rule.slice(0, 64);
  }
  return null;
}

type Attempt =
  | { kind: 'ok'; deviceId: string; signatures: SignatureReply }
  | { kind: 'refused'; report: DeviceReport }
  | { kind: 'fault'; fault: DeviceFault };

/** Steps 2 and 3 for one device. */
async function attempt(device: SigningDevice, req: SignRequest): Promise<Attempt> {
  let result: MethodResult<'sign_psbt'>;
  try {
    result = await device.signPsbt(req.params);
  } catch (e) {
    if (isWireError(e) && e.kind === 'refused') {
      return {
        kind: 'refused',
        report: Object.freeze({
          deviceId: device.deviceId,
          code: e.number,
          name: e.code,
          reason: reasonOf(e),
          rule: ruleOf(e),
          message: e.message.slice(0, 1000),
          at: req.now(),
        }),
      };
    }
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { kind: 'fault', fault: { deviceId: device.deviceId, message: message.slice(0, 1000) } };
  }
  try {
    req.verify(device.deviceId, result.signatures);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return {
      kind: 'fault',
      fault: {
        deviceId: device.deviceId,
        message: `signatures did not verify: ${message}`.slice(0, 1000),
      },
    };
  }
  return { kind: 'ok', deviceId: device.deviceId, signatures: result.signatures };
}

/** Steps 1–5. Resolves; never rejects for a device's failure (those are in `faults`). */
export async function collectSignatures(
  devices: readonly SigningDevice[],
  req: SignRequest,
): Promise<SignOutcome> {
  const threshold = req.threshold ?? 2;
  const queue = orderDevices(devices);
  const replies: { deviceId: string; signatures: SignatureReply }[] = [];
  const faults: DeviceFault[] = [];
  while (replies.length < threshold) {
    const batch = queue.splice(0, threshold - replies.length);
    if (batch.length === 0) return { kind: 'unavailable', faults };
    const results = await Promise.all(batch.map((d) => attempt(d, req)));
    let refusal: DeviceReport | null = null;
    for (const r of results) {
      if (r.kind === 'ok') replies.push({ deviceId: r.deviceId, signatures: r.signatures });
      else if (r.kind === 'fault') faults.push(r.fault);
      else refusal ??= r.report;
    }
    if (refusal !== null) return { kind: 'refused', report: refusal, faults };
  }
  return { kind: 'signed', replies, faults };
}
