import { describe, expect, it } from 'vitest';
import {
  newActivationChallenge,
  newBootNonce,
  signActivation,
  verifyActivation,
} from '../../src/device/activation.js';
import {
  formatActivationDisplay,
  parseActivationDisplay,
} from '../../src/device/activation-display.js';
import { SignerError } from '../../src/errors.js';
import { DEVICE_ID, HOLDER_B, HOLDERS, NOW, seededRandom } from './fixtures.js';

const random = seededRandom(3);
const pending = newActivationChallenge({
  deviceId: DEVICE_ID,
  bootNonce: newBootNonce(random),
  now: NOW,
  random,
});
const shown = formatActivationDisplay(pending);

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof SignerError) return e.code;
    throw e;
  }
  return 'none';
}

describe('activation display', () => {
  it('prints header, fields, hex in groups of 4 and a 2-group checksum', () => {
    const lines = shown.split('\n');
    expect(lines[0]).toBe('KEYLINE ACTIVATION v1');
    expect(lines[1]).toBe(`device    ${DEVICE_ID}`);
    expect(lines[2]).toBe(`expires   ${pending.expiresAt}`);
    expect(lines[3]).toMatch(/^challenge ([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    expect(lines[4]).toMatch(/^boot {6}([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    expect(lines[5]).toMatch(/^check {5}[0-9a-f]{4} [0-9a-f]{4}$/);
    expect(lines[3]?.replace(/^challenge |\s/g, '')).toBe(
      Buffer.from(pending.challenge).toString('hex'),
    );
  });

  it('round-trips, and what the holder signs from the text activates the device', () => {
    // the holder may type upper case, dashes and extra spaces between groups
    const typed = shown
      .split('\n')
      .map((l) =>
        l.startsWith('challenge')
          ? `challenge  ${l.slice(10).toUpperCase().replaceAll(' ', '-')}`
          : l,
      )
      .join('\r\n');
    const read = parseActivationDisplay(`\n${typed}\n`);
    expect(read).toEqual({ ...pending });
    const signed = signActivation(read, HOLDER_B);
    expect(verifyActivation(signed, pending, HOLDERS, 'holder-a', NOW).holderKeyId).toBe(
      'holder-b',
    );
  });

  it('catches a misread group through the checksum', () => {
    const lines = shown.split('\n');
    const challenge = lines[3] ?? '';
    const last = challenge.slice(-1);
    lines[3] = challenge.slice(0, -1) + (last === '0' ? '1' : '0');
    expect(code(() => parseActivationDisplay(lines.join('\n')))).toBe('BAD_SIGNED_DOCUMENT');
    const exp = shown.replace(
      `expires   ${pending.expiresAt}`,
      `expires   ${pending.expiresAt + 1}`,
    );
    expect(code(() => parseActivationDisplay(exp))).toBe('BAD_SIGNED_DOCUMENT');
  });

  it('refuses malformed text', () => {
    for (const bad of [
      '',
      shown.replace('KEYLINE', 'KEYLIME'),
      shown.split('\n').slice(0, 5).join('\n'),
      shown.replace('challenge', 'chalenge'),
      shown.replace(/check .*/, 'check     zzzz zzzz'),
      shown.replace(`expires   ${pending.expiresAt}`, `expires   0${pending.expiresAt}`),
      'x'.repeat(2000),
    ]) {
      expect(code(() => parseActivationDisplay(bad))).toBe('BAD_SIGNED_DOCUMENT');
    }
  });
});
