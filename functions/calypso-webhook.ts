/**
 * POST /webhooks/calypso: Calypso only (no IAM; the signature is the authentication). Verifies
 * Key and Sign over the raw body, stores the event once, applies it forward-only.
 */
import { apiHandler } from '../shared/http/api-handler.js';
import { json } from '../shared/http/middleware.js';
import { receiveWebhook } from '../shared/payouts/webhooks.js';
import { webhookDeps } from '../shared/runtime.js';

export const handler = apiHandler(async (event) => {
  const raw = event.body ?? '';
  const rawBody = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  const headers: Record<string, string | undefined> = { ...(event.headers ?? {}) };
  const reply = await receiveWebhook(webhookDeps(), rawBody, headers);
  return json(reply.status, reply.body);
});
