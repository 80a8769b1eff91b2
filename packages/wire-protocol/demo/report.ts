import { equalBytes } from '@noble/ciphers/utils.js';
import type { LinkStats } from '../src/link.js';
import type { MethodResult } from '../src/methods.js';
import type { SessionStats } from '../src/session.js';

/** Formatting helpers of the link demo. */

/** Short hex of a static public key: its first 8 bytes, as people compare key fingerprints. */
export function fingerprint(publicKey: Uint8Array): string {
  return `${Buffer.from(publicKey.subarray(0, 8)).toString('hex')}…`;
}

export function describeLink(s: Readonly<LinkStats>): string {
  return [
    `frames out ${s.framesSent} (${s.bytesSent.toLocaleString('en-US')} B)`,
    `in ${s.framesReceived}`,
    `data ${s.dataSent}`,
    `retransmits ${s.retransmits}`,
    `timeouts ${s.timeouts}`,
    `acks ${s.acksSent}`,
    `nacks ${s.nacksSent}`,
    `bad frames ${s.badFrames}`,
    `messages out/in ${s.messagesSent}/${s.messagesReceived}`,
    `resets ${s.resets}`,
  ].join(', ');
}

export function describeSession(s: Readonly<SessionStats>): string {
  return [
    `handshakes ${s.handshakes}`,
    `records out ${s.recordsOut}`,
    `in ${s.recordsIn}`,
    `handshake failures ${s.handshakeFailures}`,
    `broken ${s.broken}`,
  ].join(', ');
}

type SignResult = Pick<MethodResult<'sign_psbt'>, 'signatures'>;
type SignExpected = {
  readonly signatures: readonly {
    readonly input: number;
    readonly pubkey: Uint8Array;
    readonly signature: Uint8Array;
  }[];
};

/** The reply carries exactly the expected entries, byte for byte. */
export function sameSignatures(got: SignResult, want: SignExpected): boolean {
  if (got.signatures.length !== want.signatures.length) return false;
  return got.signatures.every((g, i) => {
    const w = want.signatures[i];
    return (
      w !== undefined &&
      g.input === w.input &&
      equalBytes(g.pubkey, w.pubkey) &&
      equalBytes(g.signature, w.signature)
    );
  });
}
