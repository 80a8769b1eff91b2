/**
 * The `desc` of decoded outputs: Core's InferDescriptor with no signing provider (src/script/
 * descriptor.cpp) — pk() for P2PK, multi() for bare multisig, rawtr() for taproot, addr() for
 * other addressable scripts, raw() for the rest — with the BIP380 descriptor checksum.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import * as tiny from 'tiny-secp256k1';
import { solve } from '../script/solver.js';
import { scriptToAddress } from '../wallet/address.js';

const INPUT_CHARSET =
  '0123456789()[],\'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#"\\ ';
const CHECKSUM_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0xf5dee51989n, 0xa9fdca3312n, 0x1bab10e32dn, 0x3706b1677an, 0x644d626ffdn];

function polymod(symbols: readonly number[]): bigint {
  let chk = 1n;
  for (const value of symbols) {
    const top = chk >> 35n;
    chk = ((chk & 0x7ffffffffn) << 5n) ^ BigInt(value);
    for (let i = 0; i < 5; i++) if ((top >> BigInt(i)) & 1n) chk ^= GENERATOR[i] as bigint;
  }
  return chk;
}

/** BIP380 checksum: `desc#xxxxxxxx`. */
export function addChecksum(desc: string): string {
  const symbols: number[] = [];
  const groups: number[] = [];
  for (const c of desc) {
    const v = INPUT_CHARSET.indexOf(c);
    if (v === -1)
      throw new RangeError(
        `descriptor/checksum: character '${c}' is not in the descriptor charset`,
      );
    symbols.push(v & 31);
    groups.push(v >> 5);
    if (groups.length === 3) {
      symbols.push((groups[0] as number) * 9 + (groups[1] as number) * 3 + (groups[2] as number));
      groups.length = 0;
    }
  }
  if (groups.length === 1) symbols.push(groups[0] as number);
  else if (groups.length === 2) symbols.push((groups[0] as number) * 3 + (groups[1] as number));
  const checksum = polymod([...symbols, 0, 0, 0, 0, 0, 0, 0, 0]) ^ 1n;
  let out = '';
  for (let i = 0; i < 8; i++)
    out += CHECKSUM_CHARSET[Number((checksum >> BigInt(5 * (7 - i))) & 31n)];
  return `${desc}#${out}`;
}

const validKeySize = (k: Uint8Array): boolean =>
  ((k[0] === 2 || k[0] === 3) && k.length === 33) ||
  ((k[0] === 4 || k[0] === 6 || k[0] === 7) && k.length === 65);

/** InferDescriptor(script, no provider).ToString(). */
export function inferDescriptor(script: Uint8Array): string {
  const { type, solutions } = solve(script);
  if (type === 'pubkey' && solutions[0] !== undefined)
    return addChecksum(`pk(${bytesToHex(solutions[0])})`);
  if (type === 'multisig') {
    const keys = solutions.slice(1, -1);
    if (keys.every(validKeySize)) {
      return addChecksum(
        `multi(${solutions[0]?.[0] ?? 0},${keys.map((k) => bytesToHex(k)).join(',')})`,
      );
    }
  }
  if (
    type === 'witness_v1_taproot' &&
    solutions[0] !== undefined &&
    tiny.isXOnlyPoint(solutions[0])
  ) {
    return addChecksum(`rawtr(${bytesToHex(solutions[0])})`);
  }
  const address = type === 'pubkey' || type === 'multisig' ? null : scriptToAddress(script);
  if (address !== null) return addChecksum(`addr(${address})`);
  return addChecksum(`raw(${bytesToHex(script)})`);
}
