/**
 * POST /webhooks/calypso: Calypso only (no IAM; the signature is the authentication). Verifies
 * Key and Sign over the raw body, stores the event once, applies it forward-only.
 */
import { apiHandler } from '../shared/http/api-handler.js';
import { json } from '../shared/http/middleware.js';
import { receiveWebhook } from '../shared/payouts/webhooks.js';
import { useAwsAdapters, webhookDeps } from '../shared/runtime.js';
import { readSecret } from '../shared/aws/secrets-manager.js';
import { eventBusPublisher } from '../shared/aws/event-bus.js';

useAwsAdapters({ readSecret, eventBus: eventBusPublisher });

export const handler = apiHandler(async (event) => {
  const raw = event.body ?? '';
  const rawBody = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  const headers: Record<string, string | undefined> = { ...(event.headers ?? {}) };
  const reply = await receiveWebhook(webhookDeps(), rawBody, headers);
  return json(reply.status, reply.body);
});
