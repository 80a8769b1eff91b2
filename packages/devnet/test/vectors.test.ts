import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import { Transaction } from '@scure/btc-signer';
import { describe, expect, it } from 'vitest';
import { checkInputScripts } from '../src/chain/input-checks.js';
import { encodeHeader } from '../src/consensus/block.js';
import { regtestGenesis } from '../src/consensus/genesis.js';
import { toDisplayHex } from '../src/consensus/hash.js';
import { decodeTx } from '../src/consensus/tx.js';
import { addChecksum } from '../src/rpc/descriptor.js';
import { MANDATORY_FLAGS, STANDARD_FLAGS } from '../src/script/flags.js';
import { addressToScript, scriptToAddress } from '../src/wallet/address.js';

interface Bip143Case {
  name: string;
  tx: string;
  prevouts: { value: number; script: string }[];
  sighashes: { input: number; scriptCode: string; hashType: number; sighash: string }[];
  consensusOnly?: boolean;
}

const dir = join(import.meta.dirname, 'vectors');
const bip143 = JSON.parse(readFileSync(join(dir, 'bip143.json'), 'utf8')) as {
  cases: Bip143Case[];
};
const core = JSON.parse(readFileSync(join(dir, 'core.json'), 'utf8')) as {
  genesis: { hash: string; merkleRoot: string; time: number; nonce: number; bits: string };
  descriptorChecksum: { descriptor: string; withChecksum: string };
  address: { address: string; script: string };
};

function coinsFor(c: Bip143Case) {
  const tx = decodeTx(hexToBytes(c.tx));
  return {
    tx,
    coins: c.prevouts.map((p) => {
      let script = p.script;
      if (script === 'p2wsh-of-last-witness-item') {
        const w = tx.inputs[0]?.witness ?? [];
        script = bytesToHex(
          concatBytes(Uint8Array.of(0x00, 0x20), sha256(w[w.length - 1] as Uint8Array)),
        );
      }
      return { value: BigInt(p.value), script: hexToBytes(script), height: 1, coinbase: false };
    }),
  };
}

describe('BIP143 vectors (signed transactions verified by the interpreter)', () => {
  for (const c of bip143.cases) {
    it(`accepts: ${c.name}`, () => {
      const { tx, coins } = coinsFor(c);
      expect(checkInputScripts(tx, coins, MANDATORY_FLAGS)).toBeNull();
      if (!c.consensusOnly)
        expect(checkInputScripts(tx, coins, STANDARD_FLAGS)?.reason ?? null).toBeNull();
    });

    it(`rejects a changed amount: ${c.name}`, () => {
      const { tx, coins } = coinsFor(c);
      const witnessInput = tx.inputs.findIndex((i) => i.witness.length > 0);
      const changed = coins.map((coin, i) =>
        i === witnessInput ? { ...coin, value: coin.value + 1n } : coin,
      );
      expect(checkInputScripts(tx, changed, MANDATORY_FLAGS)?.reason).toMatch(
        /^mandatory-script-verify-flag-failed \(/,
      );
    });

    for (const s of c.sighashes) {
      it(`btc-signer's digest matches BIP143's sigHash (input ${s.input}, type ${s.hashType}): ${c.name}`, () => {
        const { tx, coins } = coinsFor(c);
        const view = Transaction.fromRaw(tx.raw, {
          allowUnknownOutputs: true,
          allowUnknownInputs: true,
          disableScriptCheck: true,
        });
        const digest = view.preimageWitnessV0(
          s.input,
          hexToBytes(s.scriptCode),
          s.hashType,
          coins[s.input]?.value ?? 0n,
        );
        expect(bytesToHex(digest)).toBe(s.sighash);
      });
    }
  }

  it('the "no FindAndDelete" witness scripts fail standardness only (non-mandatory), as in Core', () => {
    const c = bip143.cases.find((x) => x.consensusOnly) as Bip143Case;
    const { tx, coins } = coinsFor(c);
    expect(checkInputScripts(tx, coins, STANDARD_FLAGS)?.reason).toMatch(
      /^non-mandatory-script-verify-flag \(/,
    );
  });
});

describe('Core and BIP380 vectors', () => {
  it('builds the regtest genesis block with its well-known hash', () => {
    const g = regtestGenesis();
    expect(g.hash).toBe(core.genesis.hash);
    expect(toDisplayHex(g.header.merkleRoot)).toBe(core.genesis.merkleRoot);
    expect(g.header.time).toBe(core.genesis.time);
    expect(g.header.nonce).toBe(core.genesis.nonce);
    expect(g.header.bits.toString(16)).toBe(core.genesis.bits);
    expect(encodeHeader(g.header)).toHaveLength(80);
  });

  it('computes the BIP380 descriptor checksum', () => {
    expect(addChecksum(core.descriptorChecksum.descriptor)).toBe(
      core.descriptorChecksum.withChecksum,
    );
  });

  it('encodes and decodes the regtest address of a zero P2WPKH program', () => {
    expect(bytesToHex(addressToScript(core.address.address) as Uint8Array)).toBe(
      core.address.script,
    );
    expect(scriptToAddress(hexToBytes(core.address.script))).toBe(core.address.address);
  });
});
