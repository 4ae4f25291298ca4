/**
 * Calypso's request and webhook signature: lowercase hex HMAC-SHA512 of the exact body bytes,
 * keyed with the secret key. Serialise once, sign that string, send that same string.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function sign(body: string, secretKey: string): string {
  return createHmac('sha512', secretKey).update(body, 'utf8').digest('hex');
}

/** Constant-time check of a hex signature against the body; false for any malformed input. */
export function signatureMatches(body: string, signature: string, secretKey: string): boolean {
  if (!/^[0-9a-fA-F]{128}$/.test(signature)) return false;
  const expected = Buffer.from(sign(body, secretKey), 'hex');
  const given = Buffer.from(signature, 'hex');
  return expected.length === given.length && timingSafeEqual(expected, given);
}
