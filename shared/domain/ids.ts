/**
 * Identifiers that must come out the same on every retry (a payout's id, a batch's Calypso
 * idempotencyKey) are name-based UUID v5 (RFC 9562 §5.5, formerly RFC 4122 §4.3): SHA-1 over the
 * namespace's 16 bytes followed by the name's UTF-8 bytes.
 */
import { createHash } from 'node:crypto';

/**
 * A UUID in canonical text form (any version, lowercase, as this project writes them): a payout
 * id. Where either case is accepted, test the text lowercased.
 */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function uuidBytes(uuid: string): Buffer {
  if (!UUID_PATTERN.test(uuid.toLowerCase()))
    throw new TypeError(`namespace ${JSON.stringify(uuid)} is not a UUID`);
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

function formatUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The name-based (SHA-1) UUID of `name` in `namespace`, in lowercase text. */
export function uuidV5(name: string, namespace: string): string {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // variant 10xx (RFC 9562)
  return formatUuid(bytes);
}
