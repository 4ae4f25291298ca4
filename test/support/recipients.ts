/** Valid recipient addresses for tests, generated deterministically. */
import { createHash } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { createBase58check } from '@scure/base';

const base58check = createBase58check(sha256);

function bytes(seed: string, n: number): Uint8Array {
  return createHash('sha256').update(seed).digest().subarray(0, n);
}

/** An all-lowercase EVM address (valid without a checksum). */
export function evmAddress(seed: string | number): string {
  return `0x${Buffer.from(bytes(`evm:${seed}`, 20)).toString('hex')}`;
}

/** A Bitcoin mainnet P2PKH address. */
export function btcAddress(seed: string | number): string {
  return base58check.encode(Uint8Array.from([0x00, ...bytes(`btc:${seed}`, 20)]));
}

export function recipients(
  count: number,
  address: (i: number) => string,
  amount: (i: number) => string,
  externalIds = true,
) {
  return Array.from({ length: count }, (_, i) => ({
    address: address(i),
    amount: amount(i),
    ...(externalIds ? { externalId: `r-${i}` } : {}),
  }));
}

/**
 * A BTC payout body of `count` recipients paying `amount` each, its name, addresses and
 * externalIds derived from `prefix`, so two scenarios never pay the same address.
 */
export function btcPayoutBody(prefix: string, count: number, amount = '0.01') {
  return {
    currency: 'BTC',
    name: prefix,
    recipients: recipients(
      count,
      (i) => btcAddress(`${prefix}-${i}`),
      () => amount,
    ).map((r) => ({ ...r, externalId: `${prefix}-${r.externalId}` })),
  };
}
