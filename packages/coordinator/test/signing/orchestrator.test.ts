import { WireError } from '@keyline/wire-protocol';
import { describe, expect, it } from 'vitest';
import {
  collectSignatures,
  orderDevices,
  type SignatureReply,
  type SigningDevice,
} from '../../src/signing/orchestrator.js';

const sig = (input: number, fill: number) => ({
  input,
  pubkey: new Uint8Array(33).fill(2),
  signature: new Uint8Array(71).fill(fill),
});

type Behaviour = 'sign' | 'timeout' | 'refuse' | 'garbage' | 'not-armed';

function device(
  id: string,
  behaviour: Behaviour,
  calls: string[],
  state = 'armed',
  lastSuccessAt = 0,
): SigningDevice {
  return {
    deviceId: id,
    state,
    lastSuccessAt,
    signPsbt: async () => {
      calls.push(id);
      switch (behaviour) {
        case 'sign':
          return { signatures: [sig(0, id.charCodeAt(0))], auditSeq: 1 };
        case 'garbage':
          return { signatures: [sig(0, 0xee)], auditSeq: 1 };
        case 'timeout':
          throw new WireError('TIMEOUT', 'rpc/call: expected a reply within 30000 ms, got none');
        case 'not-armed':
          throw new WireError('NOT_ARMED', 'device: expected state armed, got paused');
        case 'refuse':
          throw new WireError(
            'POLICY_REFUSED',
            'rpc/sign_psbt: device answered 2001: sign-flow/policy: expected every rule to pass, got a refusal by rules[0].denyDestinations (DESTINATION_DENIED)',
            {
              data: {
                rule: 'rules[0].denyDestinations',
                output: 1,
                input: null,
                detail: 'deny-listed',
              },
            },
          );
      }
    },
  };
}

const params = {
  wallet: 'hot',
  psbt: new Uint8Array([1]),
  time: { unixSeconds: 1, height: 1 },
  intents: [],
};
const verify = (_id: string, sigs: SignatureReply) => {
  if (sigs.some((s) => s.signature[0] === 0xee))
    throw new Error('input 0: signature does not verify');
};
const req = { params, verify, now: () => 1234 };

describe('signing orchestrator', () => {
  it('orders armed devices first, then the most recently successful', () => {
    const calls: string[] = [];
    const order = orderDevices([
      device('a', 'sign', calls, 'paused', 9),
      device('b', 'sign', calls, 'armed', 1),
      device('c', 'sign', calls, 'armed', 5),
    ]).map((d) => d.deviceId);
    expect(order).toEqual(['c', 'b', 'a']);
  });

  it('collects two verified replies from the first two devices only', async () => {
    const calls: string[] = [];
    const out = await collectSignatures(
      [device('a', 'sign', calls), device('b', 'sign', calls), device('c', 'sign', calls)],
      req,
    );
    expect(out.kind).toBe('signed');
    expect(calls.sort()).toEqual(['a', 'b']);
  });

  it('fails over to the third device when one times out', async () => {
    const calls: string[] = [];
    const out = await collectSignatures(
      [device('a', 'timeout', calls), device('b', 'sign', calls), device('c', 'sign', calls)],
      req,
    );
    expect(out.kind).toBe('signed');
    if (out.kind !== 'signed') return;
    expect(out.replies.map((r) => r.deviceId).sort()).toEqual(['b', 'c']);
    expect(out.faults.map((f) => f.deviceId)).toEqual(['a']);
  });

  it('fails over from a device that is not armed or whose signatures do not verify', async () => {
    const calls: string[] = [];
    const out = await collectSignatures(
      [device('a', 'garbage', calls), device('b', 'sign', calls), device('c', 'sign', calls)],
      req,
    );
    expect(out.kind).toBe('signed');
    if (out.kind !== 'signed') return;
    expect(out.faults[0]?.message).toMatch(/did not verify/);
    const out2 = await collectSignatures(
      [device('a', 'not-armed', []), device('b', 'sign', []), device('c', 'sign', [])],
      req,
    );
    expect(out2.kind).toBe('signed');
  });

  it('stops at a refusal and never asks the third device (no shopping for a lenient device)', async () => {
    const calls: string[] = [];
    const out = await collectSignatures(
      [device('a', 'refuse', calls), device('b', 'sign', calls), device('c', 'sign', calls)],
      req,
    );
    expect(out.kind).toBe('refused');
    if (out.kind !== 'refused') return;
    expect(out.report).toMatchObject({
      deviceId: 'a',
      name: 'POLICY_REFUSED',
      reason: 'DESTINATION_DENIED',
      rule: 'rules[0].denyDestinations',
      at: 1234,
    });
    expect(calls).not.toContain('c');
  });

  it('reports unavailable when fewer than two devices answer', async () => {
    const calls: string[] = [];
    const out = await collectSignatures(
      [device('a', 'timeout', calls), device('b', 'sign', calls), device('c', 'timeout', calls)],
      req,
    );
    expect(out.kind).toBe('unavailable');
    expect(out.faults.map((f) => f.deviceId).sort()).toEqual(['a', 'c']);
  });
});
