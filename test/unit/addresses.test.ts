import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { base58, bech32, bech32m, createBase58check } from '@scure/base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAddress, type AddressCheck } from '../../shared/domain/addresses.js';
import type { Network } from '../../shared/domain/currencies.js';
import {
  BASE58_FIXTURES,
  EIP55_ALL_CAPS,
  EIP55_ALL_LOWER,
  EIP55_MIXED,
  INVALID_SEGWIT,
  PAYABLE_SEGWIT,
  UNDEFINED_SEGWIT,
  type Base58Fixture,
} from './fixtures/addresses.js';

const EVM_NETWORKS = ['ethereum', 'bsc', 'polygon'] as const;
const BASE58_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const BECH32_ALPHABET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const HEX_ALPHABET = '0123456789abcdefABCDEF';

/** Version bytes per network as the specifications give them, independent of the module. */
const VERSIONS = {
  bitcoin: { mainnet: [0x00, 0x05], testnet: [0x6f, 0xc4] },
  dogecoin: { mainnet: [0x1e, 0x16], testnet: [0x71, 0xc4] },
  tron: { mainnet: [0x41], testnet: [0x41] },
} as const;
type Base58Network = keyof typeof VERSIONS;

const OK: AddressCheck = { ok: true };
const b58check = createBase58check(sha256);

function messageOf(check: AddressCheck): string {
  return check.ok ? '(accepted)' : check.message;
}

function replaceAt(text: string, index: number, ch: string): string {
  return text.slice(0, index) + ch + text.slice(index + 1);
}

/** Base58check decoding written out from the definition: 25 bytes, double-SHA-256 checksum. */
function base58checkOracle(address: string): { version: number; hash: string } | undefined {
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(address);
  } catch {
    return undefined;
  }
  if (bytes.length !== 25) return undefined;
  const body = bytes.subarray(0, 21);
  const sum = sha256(sha256(body));
  for (let i = 0; i < 4; i++) if (sum[i] !== bytes[21 + i]) return undefined;
  return { version: body[0] as number, hash: bytesToHex(body.subarray(1)) };
}

/** EIP-55 from the specification: letter i is uppercase iff hex digit i of the hash is >= 8. */
function eip55Oracle(address: string): boolean {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) return false;
  const hex = address.slice(2);
  const hash = bytesToHex(keccak_256(utf8ToBytes(hex.toLowerCase())));
  return [...hex].every((c, i) => {
    if (/[0-9]/.test(c)) return true;
    const upper = parseInt(hash[i] as string, 16) >= 8;
    return upper ? c === c.toUpperCase() : c === c.toLowerCase();
  });
}

function toChecksumAddress(bytes: Uint8Array): string {
  const lower = bytesToHex(bytes);
  const hash = bytesToHex(keccak_256(utf8ToBytes(lower)));
  const hex = [...lower].map((c, i) =>
    parseInt(hash[i] as string, 16) >= 8 ? c.toUpperCase() : c,
  );
  return `0x${hex.join('')}`;
}

/** Hex part has no checksum to verify: no letters of one of the two cases. */
function singleCase(address: string): boolean {
  const hex = address.slice(2);
  return hex === hex.toLowerCase() || hex === hex.toUpperCase();
}

/** The scriptPubKey a segwit address stands for, decoded straight from the BIP definitions. */
function segwitScript(address: string): string {
  const lower = address.toLowerCase();
  const version = BECH32_ALPHABET.indexOf(lower[lower.lastIndexOf('1') + 1] as string);
  const coder = version === 0 ? bech32 : bech32m;
  const { words } = coder.decode(lower as `${string}1${string}`);
  const program = coder.fromWords(words.slice(1));
  const opcode = version === 0 ? 0 : 0x50 + version;
  return bytesToHex(Uint8Array.from([opcode, program.length, ...program]));
}

function encodeBase58(version: number, body: Uint8Array): string {
  return b58check.encode(Uint8Array.from([version, ...body]));
}

const GENESIS_HASH = hexToBytes('62e907b15cbf27d5425399ebf6f0fb50ebb88f18');
const BTC_GENESIS = '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa';
const TAPROOT = 'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0';
const USDT_TRON = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
const DOGE = 'DD4KSSuBJqcjuTcvUg1CgUKeurPUFeEZkE';
const EVM = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const VALID_BY_NETWORK: Record<Network, string> = {
  bitcoin: BTC_GENESIS,
  ethereum: EVM,
  bsc: EVM,
  polygon: EVM,
  tron: USDT_TRON,
  dogecoin: DOGE,
};
const ALL_NETWORKS = Object.keys(VALID_BY_NETWORK) as Network[];

describe('address fixtures are real', () => {
  it.each(BASE58_FIXTURES.map((f) => [f.address, f] as const))(
    '%s has a valid base58check checksum, its version byte and its published hash',
    (_, fixture: Base58Fixture) => {
      const decoded = base58checkOracle(fixture.address);
      expect(decoded?.version).toBe(fixture.version);
      if (fixture.hash !== undefined) expect(decoded?.hash).toBe(fixture.hash);
    },
  );

  it.each([...PAYABLE_SEGWIT, ...UNDEFINED_SEGWIT].map((f) => [f.address, f.scriptPubKey]))(
    '%s decodes to its published scriptPubKey',
    (address, script) => {
      expect(segwitScript(address)).toBe(script);
    },
  );

  it('EIP-55 mixed-case vectors match the specification, the single-case ones have no checksum', () => {
    for (const address of EIP55_MIXED) {
      expect(eip55Oracle(address)).toBe(true);
      expect(singleCase(address)).toBe(false);
    }
    for (const address of [...EIP55_ALL_CAPS, ...EIP55_ALL_LOWER]) {
      expect(singleCase(address)).toBe(true);
    }
  });
});

describe('checkAddress: EVM networks', () => {
  const vectors = [...EIP55_MIXED, ...EIP55_ALL_CAPS, ...EIP55_ALL_LOWER];

  it.each(EVM_NETWORKS)(
    'accepts the EIP-55 specification vectors on %s, mainnet and testnet',
    (network) => {
      for (const address of vectors) {
        expect(checkAddress(network, address)).toEqual(OK);
        expect(checkAddress(network, address, { testnet: true })).toEqual(OK);
      }
    },
  );

  it('accepts all-lowercase and all-uppercase forms of checksummed addresses without a checksum', () => {
    for (const address of EIP55_MIXED) {
      const hex = address.slice(2);
      expect(checkAddress('ethereum', `0x${hex.toLowerCase()}`)).toEqual(OK);
      expect(checkAddress('ethereum', `0x${hex.toUpperCase()}`)).toEqual(OK);
    }
  });

  it('rejects a checksummed address with one letter in the wrong case', () => {
    for (const address of EIP55_MIXED) {
      const i = [...address].findIndex((c, index) => index > 1 && /[a-f]/i.test(c));
      const ch = address[i] as string;
      const flipped = replaceAt(
        address,
        i,
        ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase(),
      );
      expect(checkAddress('ethereum', flipped)).toEqual({
        ok: false,
        message:
          'is not a valid Ethereum address: EIP-55 checksum mismatch (check the letter case)',
      });
    }
  });

  it('rejects a checksummed address with one digit mistyped', () => {
    // Position 2 of 0x5aAeb… is "5"; "6" keeps the case pattern but changes the hash.
    const typo = replaceAt(EIP55_MIXED[0] as string, 2, '6');
    expect(eip55Oracle(typo)).toBe(false);
    expect(messageOf(checkAddress('polygon', typo))).toBe(
      'is not a valid Polygon address: EIP-55 checksum mismatch (check the letter case)',
    );
  });

  it('cannot catch a typo in a single-case address, which carries no checksum', () => {
    const lower = EIP55_ALL_LOWER[0] as string;
    expect(checkAddress('ethereum', replaceAt(lower, 5, lower[5] === '0' ? '1' : '0'))).toEqual(OK);
  });

  it.each([
    ['5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', 'must start with 0x followed by 40 hex digits'],
    ['0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', 'must start with 0x followed by 40 hex digits'],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe', 'has 39 hex digits after 0x; expected 40'],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd', 'has 41 hex digits after 0x; expected 40'],
    ['0x', 'has 0 hex digits after 0x; expected 40'],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg', 'contains "g", which is not a hex digit'],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA d', 'contains " ", which is not a hex digit'],
  ])('rejects the malformed %j', (address, problem) => {
    expect(messageOf(checkAddress('ethereum', address))).toBe(
      `is not a valid Ethereum address: ${problem}`,
    );
  });

  it('names the EVM network in messages', () => {
    expect(messageOf(checkAddress('bsc', '0x123'))).toBe(
      'is not a valid BNB Smart Chain address: has 3 hex digits after 0x; expected 40',
    );
  });
});

describe('checkAddress: base58check networks', () => {
  it.each(BASE58_FIXTURES.map((f) => [f.network, f.address, f.testnet] as const))(
    'accepts the %s address %s (testnet: %s)',
    (network, address, testnet) => {
      expect(checkAddress(network, address, { testnet })).toEqual(OK);
    },
  );

  it.each(BASE58_FIXTURES.map((f) => [f.address, f] as const))(
    'rejects %s with one character mistyped (checksum mismatch)',
    (address, fixture: Base58Fixture) => {
      // Replace the last character with its neighbour in the alphabet.
      const last = address.at(-1) as string;
      const next = BASE58_ALPHABET[(BASE58_ALPHABET.indexOf(last) + 1) % 58] as string;
      const typo = replaceAt(address, address.length - 1, next);
      expect(base58checkOracle(typo)).toBeUndefined();
      const name = { bitcoin: 'Bitcoin', tron: 'Tron', dogecoin: 'Dogecoin' }[
        fixture.network as Base58Network
      ];
      expect(checkAddress(fixture.network, typo, { testnet: fixture.testnet })).toEqual({
        ok: false,
        message: `is not a valid ${name} address: checksum mismatch`,
      });
    },
  );

  it.each(BASE58_FIXTURES.filter((f) => f.network !== 'tron').map((f) => [f.address, f] as const))(
    'names the mainnet/testnet mix-up for %s',
    (_, fixture: Base58Fixture) => {
      const name = fixture.network === 'bitcoin' ? 'Bitcoin' : 'Dogecoin';
      expect(
        messageOf(checkAddress(fixture.network, fixture.address, { testnet: !fixture.testnet })),
      ).toBe(
        fixture.testnet
          ? `is a ${name} testnet address; this service pays on mainnet`
          : `is a ${name} mainnet address; this service pays on testnet`,
      );
    },
  );

  it('accepts Tron addresses in testnet mode too: Shasta and Nile use the mainnet format', () => {
    expect(checkAddress('tron', USDT_TRON, { testnet: true })).toEqual(OK);
  });

  it('rejects a valid checksum around the wrong version byte', () => {
    const litecoinLike = encodeBase58(0x30, GENESIS_HASH);
    expect(base58checkOracle(litecoinLike)?.version).toBe(0x30);
    for (const network of ['bitcoin', 'dogecoin', 'tron'] as const) {
      expect(messageOf(checkAddress(network, litecoinLike))).toMatch(
        /: unknown version byte 0x30$/,
      );
    }
    expect(messageOf(checkAddress('bitcoin', encodeBase58(0x41, GENESIS_HASH)))).toBe(
      'is not a valid Bitcoin address: it is a Tron address',
    );
    expect(messageOf(checkAddress('tron', encodeBase58(0x00, GENESIS_HASH)))).toBe(
      'is not a valid Tron address: it is a Bitcoin address',
    );
    expect(messageOf(checkAddress('dogecoin', encodeBase58(0x05, GENESIS_HASH)))).toBe(
      'is not a valid Dogecoin address: it is a Bitcoin address',
    );
    expect(
      messageOf(checkAddress('bitcoin', encodeBase58(0x71, GENESIS_HASH), { testnet: true })),
    ).toBe('is not a valid Bitcoin address: it is a Dogecoin testnet address');
  });

  it('rejects a valid checksum around a payload of the wrong length', () => {
    expect(messageOf(checkAddress('bitcoin', encodeBase58(0x00, new Uint8Array(21).fill(7))))).toBe(
      'is not a valid Bitcoin address: wrong length (decodes to 26 bytes; expected 25)',
    );
    expect(messageOf(checkAddress('tron', encodeBase58(0x41, new Uint8Array(19).fill(7))))).toBe(
      'is not a valid Tron address: wrong length (decodes to 24 bytes; expected 25)',
    );
  });

  it('rejects truncated and padded addresses', () => {
    expect(checkAddress('bitcoin', BTC_GENESIS.slice(0, -1)).ok).toBe(false);
    expect(messageOf(checkAddress('tron', `${USDT_TRON}z`))).toBe(
      'is not a valid Tron address: wrong length (decodes to 26 bytes; expected 25)',
    );
    expect(messageOf(checkAddress('dogecoin', DOGE.repeat(2)))).toBe(
      'is not a valid Dogecoin address: wrong length (68 characters)',
    );
  });

  it.each([
    ['bitcoin', '1A1zP1eP5QGefi2DMPTfTL5SLmv7Div0Na', 'contains "0", which base58 does not use'],
    ['tron', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLjIt', 'contains "I", which base58 does not use'],
    ['dogecoin', 'DD4KSSuBJqcjuTcvUg1CgUKeurPUFeEZkO', 'contains "O", which base58 does not use'],
    ['dogecoin', 'DD4KSSuBJqcjuTcvUg1CgUKeurPUFeEZkl', 'contains "l", which base58 does not use'],
  ] as const)('on %s rejects %s', (network, address, problem) => {
    expect(messageOf(checkAddress(network, address))).toMatch(new RegExp(`: ${problem}$`));
  });

  it('explains a Tron address given in hex form', () => {
    expect(messageOf(checkAddress('tron', '41a614f803b6fd780986a42c78ec9c7f77e6ded13c'))).toBe(
      'is not a valid Tron address: it is in hex form; use the base58 form, which starts with T',
    );
  });
});

describe('checkAddress: Bitcoin segwit', () => {
  it.each(PAYABLE_SEGWIT.map((f) => [f.address, f.testnet] as const))(
    'accepts %s (testnet: %s) and names the mix-up on the other network',
    (address, testnet) => {
      expect(checkAddress('bitcoin', address, { testnet })).toEqual(OK);
      expect(messageOf(checkAddress('bitcoin', address, { testnet: !testnet }))).toBe(
        testnet
          ? 'is a Bitcoin testnet address; this service pays on mainnet'
          : 'is a Bitcoin mainnet address; this service pays on testnet',
      );
    },
  );

  it('accepts all-uppercase segwit addresses', () => {
    expect(checkAddress('bitcoin', TAPROOT.toUpperCase())).toEqual(OK);
  });

  it.each(INVALID_SEGWIT.map((v) => [v.address, v.testnet, v.problem] as const))(
    'rejects the invalid test vector %s',
    (address, testnet, problem) => {
      const message = messageOf(checkAddress('bitcoin', address, { testnet }));
      expect(message).toMatch(/^is not a valid Bitcoin address: /);
      expect(message).toContain(problem);
    },
  );

  it.each(UNDEFINED_SEGWIT.map((f) => [f.address] as const))(
    'refuses %s: well-formed, but for a segwit version or length nothing defines yet',
    (address) => {
      expect(messageOf(checkAddress('bitcoin', address))).toMatch(
        /^is not a valid Bitcoin address: .*(is not a Taproot output|is not in use on Bitcoin yet); funds sent there could be lost$/,
      );
    },
  );

  it('rejects a version 0 program encoded with bech32m, and a version 1 program with bech32', () => {
    const v0m = bech32m.encode('bc', [0, ...bech32m.toWords(GENESIS_HASH)]);
    expect(messageOf(checkAddress('bitcoin', v0m))).toBe(
      'is not a valid Bitcoin address: checksum mismatch (segwit version 0 uses bech32, not bech32m)',
    );
    const v0 = bech32.encode('bc', [0, ...bech32.toWords(GENESIS_HASH)]);
    expect(checkAddress('bitcoin', v0)).toEqual(OK);
    const key = hexToBytes('79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798');
    const v1 = bech32.encode('bc', [1, ...bech32.toWords(key)]);
    expect(messageOf(checkAddress('bitcoin', v1))).toBe(
      'is not a valid Bitcoin address: checksum mismatch (segwit version 1 and later use bech32m, not bech32)',
    );
    expect(checkAddress('bitcoin', bech32m.encode('bc', [1, ...bech32m.toWords(key)]))).toEqual(OK);
  });

  it('rejects mixed-case bech32', () => {
    const mixed = 'bc1Qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4';
    expect(checkAddress('bitcoin', mixed.toLowerCase())).toEqual(OK);
    expect(messageOf(checkAddress('bitcoin', mixed))).toBe(
      'is not a valid Bitcoin address: mixes upper and lower case (bech32 must be all one case)',
    );
  });

  it('rejects a mainnet address with its prefix changed to the testnet one (the checksum covers it)', () => {
    const swapped = `tb${TAPROOT.slice(2)}`;
    expect(messageOf(checkAddress('bitcoin', swapped, { testnet: true }))).toBe(
      'is not a valid Bitcoin address: checksum mismatch',
    );
  });

  it('rejects unknown bech32 prefixes', () => {
    expect(messageOf(checkAddress('bitcoin', 'bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9'))).toBe(
      'is not a valid Bitcoin address: unknown prefix "bcrt1"; segwit addresses start with bc1',
    );
    expect(
      messageOf(checkAddress('bitcoin', 'abcdefghijklmnopqrst1qqqqqqqqqqq', { testnet: true })),
    ).toBe(
      'is not a valid Bitcoin address: unknown prefix "abcdefghijklmnop…"; segwit addresses start with tb1',
    );
  });
});

describe('checkAddress: wrong network', () => {
  it.each([
    ['ethereum', BTC_GENESIS, 'is not a valid Ethereum address: it is a Bitcoin address'],
    ['bsc', TAPROOT, 'is not a valid BNB Smart Chain address: it is a Bitcoin address'],
    ['polygon', USDT_TRON, 'is not a valid Polygon address: it is a Tron address'],
    ['ethereum', DOGE, 'is not a valid Ethereum address: it is a Dogecoin address'],
    [
      'bitcoin',
      EVM,
      'is not a valid Bitcoin address: it is an EVM (Ethereum, BNB Smart Chain, Polygon) address',
    ],
    [
      'tron',
      EVM,
      'is not a valid Tron address: it is an EVM (Ethereum, BNB Smart Chain, Polygon) address',
    ],
    ['bitcoin', USDT_TRON, 'is not a valid Bitcoin address: it is a Tron address'],
    ['bitcoin', DOGE, 'is not a valid Bitcoin address: it is a Dogecoin address'],
    ['dogecoin', BTC_GENESIS, 'is not a valid Dogecoin address: it is a Bitcoin address'],
    ['dogecoin', TAPROOT, 'is not a valid Dogecoin address: it is a Bitcoin address'],
    ['tron', BTC_GENESIS, 'is not a valid Tron address: it is a Bitcoin address'],
    ['tron', DOGE, 'is not a valid Tron address: it is a Dogecoin address'],
  ] as const)('on %s rejects %s', (network, address, message) => {
    expect(checkAddress(network, address)).toEqual({ ok: false, message });
  });

  it('does not tell EVM networks apart: their addresses are the same', () => {
    for (const network of EVM_NETWORKS) expect(checkAddress(network, EVM)).toEqual(OK);
  });
});

describe('checkAddress: input hygiene', () => {
  it.each([undefined, null, 42, 1n, true, {}, [], new Uint8Array(25), new String(BTC_GENESIS)])(
    'rejects the non-string %o',
    (value) => {
      for (const network of ALL_NETWORKS) {
        expect(checkAddress(network, value)).toEqual({ ok: false, message: 'must be a string' });
      }
    },
  );

  it('rejects the empty string on every network', () => {
    for (const network of ALL_NETWORKS) {
      expect(checkAddress(network, '')).toEqual({ ok: false, message: 'must not be empty' });
    }
  });

  it.each([' ', '\t', '\n', '\r\n', '\u00a0', '\u2003', '\ufeff'])(
    'rejects surrounding whitespace %j instead of trimming it',
    (space) => {
      const message = 'must not have leading or trailing whitespace';
      for (const network of ALL_NETWORKS) {
        const address = VALID_BY_NETWORK[network];
        expect(checkAddress(network, address)).toEqual(OK);
        expect(checkAddress(network, `${space}${address}`)).toEqual({ ok: false, message });
        expect(checkAddress(network, `${address}${space}`)).toEqual({ ok: false, message });
      }
    },
  );

  it('rejects whitespace inside an address', () => {
    expect(checkAddress('bitcoin', 'bc1q w508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4').ok).toBe(false);
    expect(checkAddress('tron', 'TR7NHqjeKQxGTCi8q8ZY4pL8 otSzgjLj6t').ok).toBe(false);
  });

  it('rejects huge input quickly and without echoing it', () => {
    const huge = `${BTC_GENESIS}${'x'.repeat(5_000_000)}`;
    for (const network of ALL_NETWORKS) {
      const started = performance.now();
      const message = messageOf(checkAddress(network, huge));
      expect(performance.now() - started).toBeLessThan(50);
      expect(message).toMatch(/: too long \(5000034 characters\)$/);
      expect(message).not.toContain('xxxx');
    }
  });

  it('quotes an offending character safely', () => {
    expect(messageOf(checkAddress('dogecoin', 'DD4KSSuBJqcjuTcvUg1CgUKeurPUFeEZ\u0000'))).toBe(
      'is not a valid Dogecoin address: contains "\\u0000", which base58 does not use',
    );
    expect(messageOf(checkAddress('bitcoin', '1A1zP1eP5QGefi2DMPTfTL5SLmv7Div\u{1F600}'))).toBe(
      'is not a valid Bitcoin address: contains "\u{1F600}", which base58 does not use',
    );
  });

  it('rejects a network it does not know (a caller bypassing the types)', () => {
    expect(checkAddress('litecoin' as Network, BTC_GENESIS)).toEqual({
      ok: false,
      message: 'cannot be checked: unknown network "litecoin"',
    });
    expect(checkAddress('constructor' as Network, BTC_GENESIS).ok).toBe(false);
  });
});

describe('checkAddress: every single-character change of a published address', () => {
  it('never passes for base58check addresses', () => {
    const accepted: string[] = [];
    for (const { network, address, testnet } of BASE58_FIXTURES) {
      for (let i = 0; i < address.length; i++) {
        for (const ch of BASE58_ALPHABET) {
          if (ch === address[i]) continue;
          const changed = replaceAt(address, i, ch);
          if (checkAddress(network, changed, { testnet }).ok) accepted.push(changed);
        }
      }
    }
    expect(accepted).toEqual([]);
  });

  it('never passes for segwit addresses (bech32 detects any 4 substitutions)', () => {
    const accepted: string[] = [];
    for (const { address, testnet } of PAYABLE_SEGWIT) {
      const lower = address.toLowerCase();
      for (let i = 3; i < lower.length; i++) {
        for (const ch of BECH32_ALPHABET) {
          if (ch === lower[i]) continue;
          const changed = replaceAt(lower, i, ch);
          if (checkAddress('bitcoin', changed, { testnet }).ok) accepted.push(changed);
        }
        const upper = replaceAt(lower, i, (lower[i] as string).toUpperCase());
        if (upper !== lower && checkAddress('bitcoin', upper, { testnet }).ok) accepted.push(upper);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('passes for EVM addresses exactly when no checksum is left to verify or EIP-55 still holds', () => {
    // A case-only change of one letter leaves the hash unchanged, so that letter no longer matches
    // it: it can pass only by making the address single-case (no checksum at all). Any other change
    // alters the hash; it passes if the result is single-case or, by chance, matches EIP-55.
    let caseOnlyMixed = 0;
    for (const address of [...EIP55_MIXED, ...EIP55_ALL_CAPS, ...EIP55_ALL_LOWER]) {
      for (let i = 2; i < address.length; i++) {
        for (const ch of HEX_ALPHABET) {
          const original = address[i] as string;
          if (ch === original) continue;
          const changed = replaceAt(address, i, ch);
          const expected = singleCase(changed) || eip55Oracle(changed);
          expect(checkAddress('ethereum', changed).ok, changed).toBe(expected);
          if (ch.toLowerCase() === original.toLowerCase() && !singleCase(changed)) {
            caseOnlyMixed++;
            expect(checkAddress('ethereum', changed).ok, changed).toBe(false);
          }
        }
      }
    }
    expect(caseOnlyMixed).toBeGreaterThan(100);
  });

  it('a mixed-case EIP-55 vector is never accepted after a change that keeps it mixed-case', () => {
    // Fixed vectors, so this is deterministic: none of the published vectors has a single-character
    // variant that happens to satisfy EIP-55 again.
    for (const address of EIP55_MIXED) {
      for (let i = 2; i < address.length; i++) {
        for (const ch of HEX_ALPHABET) {
          const changed = replaceAt(address, i, ch);
          if (ch === address[i] || singleCase(changed)) continue;
          expect(checkAddress('ethereum', changed).ok, changed).toBe(false);
        }
      }
    }
  });
});

describe('checkAddress: properties', () => {
  const evmAddress = fc.uint8Array({ minLength: 20, maxLength: 20 }).map(toChecksumAddress);

  it('accepts any EIP-55 address; after one changed character, accepts it only when EIP-55 allows', () => {
    fc.assert(
      fc.property(
        evmAddress,
        fc.integer({ min: 2, max: 41 }),
        fc.integer({ min: 1, max: HEX_ALPHABET.length - 1 }),
        (address, index, shift) => {
          expect(checkAddress('ethereum', address)).toEqual(OK);
          const original = address[index] as string;
          const ch = HEX_ALPHABET[
            (HEX_ALPHABET.indexOf(original) + shift) % HEX_ALPHABET.length
          ] as string;
          const changed = replaceAt(address, index, ch);
          const caseOnly = ch.toLowerCase() === original.toLowerCase();
          const ok = checkAddress('ethereum', changed).ok;
          expect(ok).toBe(singleCase(changed) || eip55Oracle(changed));
          if (caseOnly && !singleCase(changed)) expect(ok).toBe(false);
        },
      ),
    );
  });

  it('accepts any base58check address with the right version; rejects it after one changed character', () => {
    const network = fc.constantFrom<Base58Network>('bitcoin', 'dogecoin', 'tron');
    fc.assert(
      fc.property(
        network,
        fc.boolean(),
        fc.nat(),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.nat(),
        fc.integer({ min: 1, max: 57 }),
        (net, testnet, pick, hash, position, shift) => {
          const versions = VERSIONS[net][testnet ? 'testnet' : 'mainnet'];
          const version = versions[pick % versions.length] as number;
          const address = encodeBase58(version, hash);
          expect(checkAddress(net, address, { testnet })).toEqual(OK);
          const index = position % address.length;
          const original = address[index] as string;
          const ch = BASE58_ALPHABET[(BASE58_ALPHABET.indexOf(original) + shift) % 58] as string;
          const changed = replaceAt(address, index, ch);
          // A changed character passes only if a 32-bit checksum collides (2^-32) and the version
          // byte is still acceptable; the oracle decides that case exactly rather than ignoring it.
          const decoded = base58checkOracle(changed);
          const expected =
            decoded !== undefined && (versions as readonly number[]).includes(decoded.version);
          expect(checkAddress(net, changed, { testnet }).ok).toBe(expected);
        },
      ),
    );
  });
});

describe('checkAddress: throughput', () => {
  it('checks 10,000 addresses, valid and not, well within a request budget', () => {
    const inputs: [Network, string, boolean][] = [];
    const pool: [Network, string, boolean][] = [
      ...BASE58_FIXTURES.map(
        (f) => [f.network, f.address, f.testnet] as [Network, string, boolean],
      ),
      ...PAYABLE_SEGWIT.map((f) => ['bitcoin', f.address, f.testnet] as [Network, string, boolean]),
      ...EIP55_MIXED.map((a) => ['ethereum', a, false] as [Network, string, boolean]),
    ];
    for (let i = 0; inputs.length < 10_000; i++) {
      const [network, address, testnet] = pool[i % pool.length] as [Network, string, boolean];
      // Every third input gets a typo, so the failure paths are timed too.
      inputs.push([
        network,
        i % 3 === 0 ? replaceAt(address, 10, address[10] === '2' ? '3' : '2') : address,
        testnet,
      ]);
    }
    const started = performance.now();
    let accepted = 0;
    for (const [network, address, testnet] of inputs) {
      if (checkAddress(network, address, { testnet }).ok) accepted++;
    }
    const elapsed = performance.now() - started;
    expect(accepted).toBeGreaterThan(6_000);
    expect(accepted).toBeLessThan(7_000);
    // A few hundred milliseconds on a small shared machine; the bound only catches blow-ups.
    expect(elapsed).toBeLessThan(2_000);
  });
});
