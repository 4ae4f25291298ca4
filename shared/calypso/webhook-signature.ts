/**
 * Checks that a webhook delivery comes from Calypso: `Key` names one of our subscriptions'
 * public keys and `Sign` is the HMAC-SHA512 of the raw body under that subscription's secret key.
 * Several keys are accepted at once so a subscription can be rotated without dropping events.
 */
import { signatureMatches } from './signing.js';

export interface WebhookKey {
  publicKey: string;
  secretKey: string;
}

export type WebhookSignatureVerdict =
  | { ok: true; publicKey: string }
  | { ok: false; reason: 'missing-headers' | 'unknown-key' | 'bad-signature' };

/**
 * `rawBody` must be the body exactly as received (before any parsing); header names are matched
 * without regard to case. The signature comparison is constant-time.
 */
export function verifyWebhookSignature(
  rawBody: string,
  headers: Record<string, string | undefined>,
  keys: readonly WebhookKey[],
): WebhookSignatureVerdict {
  const key = header(headers, 'key');
  const signature = header(headers, 'sign');
  if (key === undefined || signature === undefined) return { ok: false, reason: 'missing-headers' };
  const candidates = keys.filter((entry) => entry.publicKey === key);
  if (candidates.length === 0) return { ok: false, reason: 'unknown-key' };
  // Every candidate is checked, so the time taken does not tell which one matched.
  let matched: WebhookKey | undefined;
  for (const candidate of candidates) {
    if (signatureMatches(rawBody, signature, candidate.secretKey)) matched ??= candidate;
  }
  return matched
    ? { ok: true, publicKey: matched.publicKey }
    : { ok: false, reason: 'bad-signature' };
}

/** A header's trimmed value by case-insensitive name; undefined when absent or empty. */
function header(headers: Record<string, string | undefined>, name: string): string | undefined {
  for (const [headerName, value] of Object.entries(headers)) {
    if (headerName.toLowerCase() === name && value !== undefined && value.trim() !== '') {
      return value.trim();
    }
  }
  return undefined;
}
