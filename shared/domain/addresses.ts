/**
 * Recipient address validation per network, before a payout reaches Calypso (calypso-api.md §6).
 *
 * - EVM networks (Ethereum, BNB Smart Chain, Polygon): `0x` + 40 hex digits. All-lowercase or
 *   all-uppercase hex carries no checksum and is accepted; mixed case must match EIP-55.
 * - Bitcoin: base58check P2PKH/P2SH and native segwit (BIP-173 bech32 for version 0, BIP-350
 *   bech32m for version 1 and later).
 * - Tron: base58check with a 21-byte payload starting with 0x41 (`T…`), on every Tron network.
 * - Dogecoin: base58check P2PKH/P2SH.
 *
 * Messages are predicates for an API caller, who prefixes them with the field's path. They quote
 * at most a short excerpt of the input, never the whole of it.
 *
 * Pure and allocation-light: a request may carry 10,000 addresses, so coders and tables are built
 * once here, and the cheap string checks run before any decoding or hashing.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { base58, bech32, bech32m, createBase58check } from '@scure/base';
import type { Network } from './currencies.js';

export type AddressCheck = { ok: true } | { ok: false; message: string };

export interface AddressOptions {
  /** Accept only testnet addresses (and reject mainnet ones) where the networks differ. */
  testnet?: boolean;
}

/** Human names of the networks, as they appear in messages. */
export const NETWORK_NAMES: Readonly<Record<Network, string>> = {
  bitcoin: 'Bitcoin',
  ethereum: 'Ethereum',
  tron: 'Tron',
  bsc: 'BNB Smart Chain',
  polygon: 'Polygon',
  dogecoin: 'Dogecoin',
};

/** Longer than any supported address (bech32 caps a whole address at 90 characters). */
const MAX_ADDRESS_LENGTH = 90;
/** A 25-byte base58check address never needs more than 35 characters; leave some slack. */
const MAX_BASE58_LENGTH = 50;
/** Version byte plus a 20-byte hash: every supported base58check address. */
const BASE58_PAYLOAD_BYTES = 21;
const BASE58_CHECKSUM_BYTES = 4;

const OK: AddressCheck = Object.freeze({ ok: true as const });

const base58check = createBase58check(sha256);

const BASE58_RE = /^[1-9A-HJ-NP-Za-km-z]+$/;
const BASE58_CHAR = /[1-9A-HJ-NP-Za-km-z]/;
const EVM_RE = /^0x[0-9a-fA-F]{40}$/;
const HEX_CHAR = /[0-9a-fA-F]/;
const TRON_HEX_RE = /^41[0-9a-fA-F]{40}$/;

const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
/** Character code → 5-bit value, or -1 outside the bech32 alphabet (lowercase input). */
const BECH32_VALUE: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < BECH32_CHARSET.length; i++) table[BECH32_CHARSET.charCodeAt(i)] = i;
  return table;
})();
/** Something shaped like a bech32 string with an arbitrary prefix (`ltc1…`, `bcrt1…`). */
const BECH32_LIKE_RE = /^([a-z]{1,20})1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{6,}$/;

interface Base58Chain {
  network: Network;
  mainnet: readonly number[];
  testnet: readonly number[];
}

const BITCOIN_BASE58: Base58Chain = {
  network: 'bitcoin',
  mainnet: [0x00, 0x05], // P2PKH `1…`, P2SH `3…`
  testnet: [0x6f, 0xc4], // P2PKH `m…`/`n…`, P2SH `2…`
};
const DOGECOIN_BASE58: Base58Chain = {
  network: 'dogecoin',
  mainnet: [0x1e, 0x16], // P2PKH `D…`, P2SH `9…`/`A…`
  testnet: [0x71, 0xc4], // P2PKH `n…`, P2SH `2…`
};
/** Tron's testnets (Shasta, Nile) use the mainnet format. */
const TRON_BASE58: Base58Chain = { network: 'tron', mainnet: [0x41], testnet: [0x41] };

/** What a valid base58check address with this version byte is, for wrong-network messages. */
const BASE58_VERSION_OWNERS: ReadonlyMap<number, { network: Network; label: string }> = new Map([
  [0x00, { network: 'bitcoin', label: 'a Bitcoin address' }],
  [0x05, { network: 'bitcoin', label: 'a Bitcoin address' }],
  [0x6f, { network: 'bitcoin', label: 'a Bitcoin testnet address' }],
  // Bitcoin testnet and Dogecoin testnet share the P2SH version byte.
  [0xc4, { network: 'bitcoin', label: 'a Bitcoin or Dogecoin testnet address' }],
  [0x1e, { network: 'dogecoin', label: 'a Dogecoin address' }],
  [0x16, { network: 'dogecoin', label: 'a Dogecoin address' }],
  [0x71, { network: 'dogecoin', label: 'a Dogecoin testnet address' }],
  [0x41, { network: 'tron', label: 'a Tron address' }],
]);

const EVM_NETWORKS: ReadonlySet<Network> = new Set(['ethereum', 'bsc', 'polygon']);

/**
 * Checks that `address` is a well-formed recipient address on `network`: format, checksum and,
 * where mainnet and testnet addresses differ, the right one of the two (`options.testnet`).
 */
export function checkAddress(
  network: Network,
  address: unknown,
  options: AddressOptions = {},
): AddressCheck {
  if (typeof address !== 'string') return fail('must be a string');
  if (address.length === 0) return fail('must not be empty');
  if (!Object.hasOwn(NETWORK_NAMES, network)) {
    return fail(`cannot be checked: unknown network ${excerpt(String(network))}`);
  }
  const name = NETWORK_NAMES[network];
  // Bounds the work below, including the whitespace check, whatever the input's size.
  if (address.length > MAX_ADDRESS_LENGTH) {
    return invalid(name, `too long (${address.length} characters)`);
  }
  if (address.trim() !== address) {
    return fail('must not have leading or trailing whitespace');
  }
  const testnet = options.testnet === true;
  switch (network) {
    case 'ethereum':
    case 'bsc':
    case 'polygon':
      return checkEvm(network, name, address);
    case 'bitcoin':
      return checkBitcoin(address, testnet);
    case 'tron':
      if (TRON_HEX_RE.test(address)) {
        return invalid(name, 'it is in hex form; use the base58 form, which starts with T');
      }
      return checkBase58(TRON_BASE58, name, address, testnet);
    case 'dogecoin':
      return checkBase58(DOGECOIN_BASE58, name, address, testnet);
  }
}

// ---------------------------------------------------------------------------------------------
// EVM

function checkEvm(network: Network, name: string, address: string): AddressCheck {
  if (!EVM_RE.test(address)) return invalid(name, evmFormatProblem(network, address));
  const hex = address.slice(2);
  const lower = hex.toLowerCase();
  if (hex === lower || hex === hex.toUpperCase()) return OK; // no checksum to verify
  // EIP-55: a letter is uppercase exactly when the matching nibble of keccak-256(lowercase hex,
  // as ASCII) is 8 or more.
  const ascii = new Uint8Array(40);
  for (let i = 0; i < 40; i++) ascii[i] = lower.charCodeAt(i);
  const hash = keccak_256(ascii);
  for (let i = 0; i < 40; i++) {
    const code = hex.charCodeAt(i);
    if (code < 0x41) continue; // a digit has no case
    const byte = hash[i >> 1] as number;
    const nibble = i % 2 === 0 ? byte >> 4 : byte & 0x0f;
    const upper = code <= 0x46; // A-F; a-f are 0x61-0x66
    if (upper !== nibble >= 8) {
      return invalid(name, 'EIP-55 checksum mismatch (check the letter case)');
    }
  }
  return OK;
}

function evmFormatProblem(network: Network, address: string): string {
  if (!address.startsWith('0x')) {
    const foreign = identifyForeign(network, address, true);
    if (foreign) return `it is ${foreign}`;
    return 'must start with 0x followed by 40 hex digits';
  }
  const hex = address.slice(2);
  for (const ch of hex) {
    if (!HEX_CHAR.test(ch)) return `contains ${excerpt(ch)}, which is not a hex digit`;
  }
  return `has ${hex.length} hex digits after 0x; expected 40`;
}

// ---------------------------------------------------------------------------------------------
// Base58check (Bitcoin legacy, Tron, Dogecoin)

type Base58Decoded = { ok: true; version: number } | { ok: false; problem: string };

/** Decodes a 21-byte base58check payload and returns its version byte. */
function decodeBase58(address: string): Base58Decoded {
  if (!BASE58_RE.test(address)) {
    for (const ch of address) {
      if (!BASE58_CHAR.test(ch)) {
        return { ok: false, problem: `contains ${excerpt(ch)}, which base58 does not use` };
      }
    }
  }
  if (address.length > MAX_BASE58_LENGTH) {
    return { ok: false, problem: `wrong length (${address.length} characters)` };
  }
  let payload: Uint8Array;
  try {
    payload = base58check.decode(address);
  } catch {
    // The charset was checked above, so the checksum failed; tell a truncated or padded address
    // apart from a mistyped one.
    const total = base58.decode(address).length;
    const expected = BASE58_PAYLOAD_BYTES + BASE58_CHECKSUM_BYTES;
    if (total !== expected) {
      return {
        ok: false,
        problem: `wrong length (decodes to ${total} bytes; expected ${expected})`,
      };
    }
    return { ok: false, problem: 'checksum mismatch' };
  }
  if (payload.length !== BASE58_PAYLOAD_BYTES) {
    const total = payload.length + BASE58_CHECKSUM_BYTES;
    const expected = BASE58_PAYLOAD_BYTES + BASE58_CHECKSUM_BYTES;
    return { ok: false, problem: `wrong length (decodes to ${total} bytes; expected ${expected})` };
  }
  return { ok: true, version: payload[0] as number };
}

function checkBase58(
  chain: Base58Chain,
  name: string,
  address: string,
  testnet: boolean,
): AddressCheck {
  const decoded = decodeBase58(address);
  if (!decoded.ok) {
    const foreign = identifyForeign(chain.network, address, false);
    if (foreign) return invalid(name, `it is ${foreign}`);
    if (chain.network === 'bitcoin') {
      const prefix = BECH32_LIKE_RE.exec(address.toLowerCase())?.[1];
      if (prefix !== undefined) {
        const expected = testnet ? 'tb1' : 'bc1';
        return invalid(
          name,
          `unknown prefix ${excerpt(`${prefix}1`)}; segwit addresses start with ${expected}`,
        );
      }
    }
    return invalid(name, decoded.problem);
  }
  const { version } = decoded;
  if ((testnet ? chain.testnet : chain.mainnet).includes(version)) return OK;
  if ((testnet ? chain.mainnet : chain.testnet).includes(version)) {
    return wrongNet(name, testnet);
  }
  const owner = BASE58_VERSION_OWNERS.get(version);
  if (owner && owner.network !== chain.network) return invalid(name, `it is ${owner.label}`);
  return invalid(name, `unknown version byte 0x${version.toString(16).padStart(2, '0')}`);
}

// ---------------------------------------------------------------------------------------------
// Bitcoin

function checkBitcoin(address: string, testnet: boolean): AddressCheck {
  const name = NETWORK_NAMES.bitcoin;
  if (!isSegwitCandidate(address)) return checkBase58(BITCOIN_BASE58, name, address, testnet);
  const segwit = decodeSegwit(address);
  if (!segwit.ok) return invalid(name, segwit.problem);
  if (segwit.testnet !== testnet) return wrongNet(name, testnet);
  // BIP-350 reserves versions 2-16 and other version 1 lengths for future soft forks. Today
  // anyone can spend such outputs, so a payout to one is as good as lost.
  if (segwit.version === 1 && segwit.programLength !== 32) {
    return invalid(
      name,
      `a segwit version 1 program of ${bytes(segwit.programLength)} is not a Taproot output; funds sent there could be lost`,
    );
  }
  if (segwit.version > 1) {
    return invalid(
      name,
      `segwit version ${segwit.version} is not in use on Bitcoin yet; funds sent there could be lost`,
    );
  }
  return OK;
}

function isSegwitCandidate(address: string): boolean {
  const head = address.slice(0, 3).toLowerCase();
  return head === 'bc1' || head === 'tb1';
}

type SegwitDecoded =
  | { ok: true; testnet: boolean; version: number; programLength: number }
  | { ok: false; problem: string };

/**
 * Decodes a native segwit address with the `bc` or `tb` prefix (BIP-173, BIP-350): version 0
 * uses bech32, versions 1-16 use bech32m; the program is 2-40 bytes, and 20 or 32 for version 0.
 */
function decodeSegwit(address: string): SegwitDecoded {
  const lower = address.toLowerCase();
  if (address !== lower && address !== address.toUpperCase()) {
    return { ok: false, problem: 'mixes upper and lower case (bech32 must be all one case)' };
  }
  const data = lower.slice(3);
  for (let i = 0; i < data.length; i++) {
    const code = data.charCodeAt(i);
    if (code >= 128 || (BECH32_VALUE[code] as number) < 0) {
      const ch = String.fromCodePoint(data.codePointAt(i) as number);
      return { ok: false, problem: `contains ${excerpt(ch)}, which bech32 does not use` };
    }
  }
  if (data.length <= 6) return { ok: false, problem: 'too short: no witness program' };
  const versionWord = BECH32_VALUE[data.charCodeAt(0)] as number;
  const [expected, other] = versionWord === 0 ? [bech32, bech32m] : [bech32m, bech32];
  let decoded = expected.decodeUnsafe(lower);
  if (!decoded) {
    const asOther = other.decodeUnsafe(lower);
    if (!asOther) return { ok: false, problem: 'checksum mismatch' };
    if (versionWord === 0) {
      return {
        ok: false,
        problem: 'checksum mismatch (segwit version 0 uses bech32, not bech32m)',
      };
    }
    if (versionWord <= 16) {
      return {
        ok: false,
        problem: 'checksum mismatch (segwit version 1 and later use bech32m, not bech32)',
      };
    }
    decoded = asOther;
  }
  if (versionWord > 16) return { ok: false, problem: `invalid witness version ${versionWord}` };
  const { words } = decoded;
  const program = bech32.fromWordsUnsafe(words.slice(1));
  if (!program) return { ok: false, problem: 'invalid padding in the witness program' };
  if (program.length < 2 || program.length > 40) {
    return {
      ok: false,
      problem: `witness program is ${bytes(program.length)}; it must be 2 to 40 bytes`,
    };
  }
  if (versionWord === 0 && program.length !== 20 && program.length !== 32) {
    return {
      ok: false,
      problem: `segwit version 0 program is ${bytes(program.length)}; it must be 20 or 32 bytes`,
    };
  }
  return {
    ok: true,
    testnet: lower.startsWith('tb'),
    version: versionWord,
    programLength: program.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Wrong-network hints

/**
 * What `address` is when it is a valid address of a network family other than `network`'s,
 * e.g. `a Bitcoin address`. Runs only after the address already failed. `tryBase58` is false when
 * the caller has just failed to decode the address as base58check.
 */
function identifyForeign(
  network: Network,
  address: string,
  tryBase58: boolean,
): string | undefined {
  if (!EVM_NETWORKS.has(network) && EVM_RE.test(address)) {
    return 'an EVM (Ethereum, BNB Smart Chain, Polygon) address';
  }
  if (network !== 'bitcoin' && isSegwitCandidate(address)) {
    const segwit = decodeSegwit(address);
    if (segwit.ok) return segwit.testnet ? 'a Bitcoin testnet address' : 'a Bitcoin address';
  }
  if (tryBase58 && BASE58_RE.test(address) && address.length <= MAX_BASE58_LENGTH) {
    const decoded = decodeBase58(address);
    if (decoded.ok) {
      const owner = BASE58_VERSION_OWNERS.get(decoded.version);
      if (owner && owner.network !== network) return owner.label;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Messages

function fail(message: string): AddressCheck {
  return { ok: false, message };
}

function invalid(name: string, problem: string): AddressCheck {
  return fail(`is not a valid ${name} address: ${problem}`);
}

function wrongNet(name: string, testnet: boolean): AddressCheck {
  return testnet
    ? fail(`is a ${name} mainnet address; this service pays on testnet`)
    : fail(`is a ${name} testnet address; this service pays on mainnet`);
}

function bytes(count: number): string {
  return count === 1 ? '1 byte' : `${count} bytes`;
}

/** A quoted excerpt of caller input, at most 16 characters of it. */
function excerpt(text: string, max = 16): string {
  const chars = Array.from(text.slice(0, max * 2)).slice(0, max);
  const cut = chars.join('');
  return JSON.stringify(cut.length < text.length ? `${cut}…` : cut);
}
