/**
 * Identifiers, keys, transaction hashes and dates. With a seed every random byte comes from
 * SHA-256 of (seed, counter), so the same calls in the same order give the same values.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Network } from '../../../shared/domain/currencies.js';

export interface RandomSource {
  bytes(count: number): Buffer;
}

export function createRandom(seed?: number): RandomSource {
  if (seed === undefined) return { bytes: (count) => randomBytes(count) };
  let counter = 0;
  return {
    bytes(count) {
      const blocks: Buffer[] = [];
      let length = 0;
      while (length < count) {
        const block = createHash('sha256').update(`calypso-sandbox:${seed}:${counter++}`).digest();
        blocks.push(block);
        length += block.length;
      }
      return Buffer.concat(blocks).subarray(0, count);
    },
  };
}

/** Networks whose transaction hashes are written with a `0x` prefix. */
const HEX_PREFIXED: ReadonlySet<Network> = new Set(['ethereum', 'bsc', 'polygon']);

export class IdFactory {
  private nextDealId: number;
  private nextErrorId = 1;

  constructor(private readonly random: RandomSource) {
    // Calypso's payout ids are numeric (webhooks carry them as JSON numbers).
    this.nextDealId = 100_000 + (random.bytes(4).readUInt32BE(0) % 800_000);
  }

  hex(byteCount: number): string {
    return this.random.bytes(byteCount).toString('hex');
  }

  /** A random (version 4) UUID. */
  uuid(): string {
    const b = this.random.bytes(16);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** Payout ids: numeric strings, increasing. */
  dealId(): string {
    return String(this.nextDealId++);
  }

  withdrawalErrorId(): number {
    return this.nextErrorId++;
  }

  /** An API key or webhook key in the documented format: 32 lowercase hex digits. */
  key(): string {
    return this.hex(16);
  }

  traceId(): string {
    return this.hex(16);
  }

  transactionHash(network: Network): string {
    const digits = this.hex(32);
    return HEX_PREFIXED.has(network) ? `0x${digits}` : digits;
  }
}

/** ISO-8601 UTC with milliseconds and `Z`, as the API's own dates: `2025-06-30T16:56:37.160Z`. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString();
}

/** A webhook date: UTC without a zone, with microseconds: `2022-03-15T12:13:05.909000`. */
export function webhookDate(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}000`;
}
