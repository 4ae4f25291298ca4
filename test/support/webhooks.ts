/** Webhook deliveries as Calypso makes them, for tests that post their own. */
import { sign } from '../../shared/calypso/signing.js';
import type { WebhookKey } from '../../shared/config.js';

/**
 * The headers Calypso sends with a body: its subscription's public key and the body's signature.
 * `as` forges them: another key, or a signature by another secret.
 */
export function webhookHeaders(
  body: string,
  keys: WebhookKey,
  as: { key?: string; secret?: string } = {},
): Record<string, string> {
  return {
    key: as.key ?? keys.publicKey,
    sign: sign(body, as.secret ?? keys.secretKey),
    'content-type': 'application/json',
  };
}

/** A body as Calypso sends it when a mass payout's, or one of its payments', status changes. */
export function statusChangeBody(event: {
  id: number;
  idempotencyKey: string;
  payoutStatus: string;
  /** A payment's: with its hash and our externalId. */
  hash?: string;
  externalId?: string;
  requestId?: string;
}): string {
  const { id, idempotencyKey, payoutStatus, hash, externalId } = event;
  return JSON.stringify({
    requestId: event.requestId ?? 'f0f0f0f0-0000-4000-8000-000000000000',
    id,
    createdDate: '2030-01-01T00:00:10.000000',
    level: 'SUCCESS',
    service: 'PAYOUT',
    eventType: 'PAYOUT_CHANGE_STATUS',
    data: {
      type: 'PAYOUT_CHANGE_STATUS',
      payoutStatus,
      ...(hash ? { hash } : {}),
      idempotencyKey,
      ...(externalId ? { externalId } : {}),
    },
  });
}
