/**
 * Valid recipient lists, generated deterministically: EIP-55 checksummed (mixed-case) and
 * lowercase EVM addresses, Bitcoin P2PKH / P2SH / bech32, and Tron addresses.
 */
import { createHash } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bech32, createBase58check } from '@scure/base';

const base58check = createBase58check(sha256);

function bytes(seed: string, n: number): Uint8Array {
  return createHash('sha256').update(seed).digest().subarray(0, n);
}

/** All-lowercase EVM address (no checksum). */
export function evmLowercase(seed: string | number): string {
  return `0x${Buffer.from(bytes(`evm:${seed}`, 20)).toString('hex')}`;
}

/** The EIP-55 mixed-case form of an EVM address. */
export function eip55(address: string): string {
  const hex = address.slice(2).toLowerCase();
  const hash = Buffer.from(keccak_256(new TextEncoder().encode(hex))).toString('hex');
  let out = '0x';
  for (let i = 0; i < hex.length; i++) {
    out += parseInt(hash[i]!, 16) >= 8 ? hex[i]!.toUpperCase() : hex[i]!;
  }
  return out;
}

export function evmChecksummed(seed: string | number): string {
  return eip55(evmLowercase(seed));
}

/** Bitcoin mainnet: P2PKH, P2SH and native segwit v0 in turn. */
export function btcAddress(seed: number): string {
  const hash = bytes(`btc:${seed}`, 20);
  switch (seed % 3) {
    case 0:
      return base58check.encode(Uint8Array.from([0x00, ...hash]));
    case 1:
      return base58check.encode(Uint8Array.from([0x05, ...hash]));
    default:
      return bech32.encode('bc', [0, ...bech32.toWords(hash)]);
  }
}

/** Bitcoin mainnet P2PKH only (what the sandbox and the tests use most). */
export function btcP2pkh(seed: number): string {
  return base58check.encode(Uint8Array.from([0x00, ...bytes(`btc:${seed}`, 20)]));
}

export function tronAddress(seed: number): string {
  return base58check.encode(Uint8Array.from([0x41, ...bytes(`trx:${seed}`, 20)]));
}

export interface Recipient {
  address: string;
  amount: string;
  externalId?: string;
}

/** Amounts with up to `decimals` digits, different per recipient, never zero. */
export function amount(i: number, decimals: number): string {
  const whole = 1 + (i % 97);
  const cents = String((i * 7919) % 10 ** Math.min(decimals, 4)).padStart(
    Math.min(decimals, 4),
    '0',
  );
  return decimals > 0 ? `${whole}.${cents}` : String(whole);
}

export function recipients(
  n: number,
  address: (i: number) => string,
  decimals: number,
  prefix = 'r',
): Recipient[] {
  return Array.from({ length: n }, (_, i) => ({
    address: address(i),
    amount: amount(i, decimals),
    externalId: `${prefix}-${i}`,
  }));
}

export function payoutBody(currency: string, list: Recipient[], name = 'benchmark payout') {
  return { currency, name, recipients: list };
}
