/**
 * Regtest addresses (src/key_io.cpp): base58check P2PKH (0x6f) and P2SH (0xc4), bech32 witness
 * v0 and bech32m witness v1+ with the "bcrt" prefix. Encoding and checksums come from
 * @scure/base; this module only applies Bitcoin's address rules.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { bech32, bech32m, createBase58check } from '@scure/base';
import { OP, OP_1, pushData } from '../script/opcodes.js';
import { solve, witnessProgram } from '../script/solver.js';

export const REGTEST = Object.freeze({ hrp: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4 });

const base58check = createBase58check(sha256);

function witnessScript(version: number, program: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(version === 0 ? 0 : OP_1 - 1 + version), pushData(program));
}

/** EncodeDestination of an output script, or null when it has no address (P2PK, multisig, data). */
export function scriptToAddress(script: Uint8Array): string | null {
  const { type, solutions } = solve(script);
  const first = solutions[0];
  if (type === 'pubkeyhash' && first !== undefined)
    return base58check.encode(concatBytes(Uint8Array.of(REGTEST.pubKeyHash), first));
  if (type === 'scripthash' && first !== undefined)
    return base58check.encode(concatBytes(Uint8Array.of(REGTEST.scriptHash), first));
  const wp = witnessProgram(script);
  if (wp === null || type === 'nonstandard') return null;
  const words = [wp.version, ...bech32.toWords(wp.program)];
  return wp.version === 0
    ? bech32.encode(REGTEST.hrp, words, 90)
    : bech32m.encode(REGTEST.hrp, words, 90);
}

function decodeSegwit(address: string): Uint8Array | null {
  const lower = address.toLowerCase();
  if (address !== lower && address !== address.toUpperCase()) return null;
  for (const [coder, isM] of [
    [bech32, false],
    [bech32m, true],
  ] as const) {
    let decoded: { prefix: string; words: number[] };
    try {
      decoded = coder.decode(lower as `${string}1${string}`, 90);
    } catch {
      continue;
    }
    if (decoded.prefix !== REGTEST.hrp || decoded.words.length === 0) return null;
    const version = decoded.words[0] as number;
    if (version > 16 || (version === 0) === isM) return null;
    let program: Uint8Array;
    try {
      program = bech32.fromWords(decoded.words.slice(1));
    } catch {
      return null;
    }
    if (program.length < 2 || program.length > 40) return null;
    if (version === 0 && program.length !== 20 && program.length !== 32) return null;
    return witnessScript(version, program);
  }
  return null;
}

/** DecodeDestination for regtest: the output script, or null for anything not a valid address. */
export function addressToScript(address: string): Uint8Array | null {
  const segwit = decodeSegwit(address);
  if (segwit !== null) return segwit;
  let payload: Uint8Array;
  try {
    payload = base58check.decode(address);
  } catch {
    return null;
  }
  if (payload.length !== 21) return null;
  const hash = payload.subarray(1);
  if (payload[0] === REGTEST.pubKeyHash) {
    return concatBytes(
      Uint8Array.of(OP.DUP, OP.HASH160),
      pushData(hash),
      Uint8Array.of(OP.EQUALVERIFY, OP.CHECKSIG),
    );
  }
  if (payload[0] === REGTEST.scriptHash) {
    return concatBytes(Uint8Array.of(OP.HASH160), pushData(hash), Uint8Array.of(OP.EQUAL));
  }
  return null;
}
