/**
 * POST /webhooks/calypso: Calypso only (no IAM; the signature is the authentication). Verifies
 * Key and Sign over the raw body, stores the event once, applies it forward-only.
 */
import { eventBusPublisher } from '../shared/aws/event-bus.js';
import { readSecret } from '../shared/aws/secrets-manager.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { json } from '../shared/http/middleware.js';
import { HttpProblem } from '../shared/http/problem.js';
import { receiveWebhook } from '../shared/payouts/webhooks.js';
import { useAwsAdapters, webhookDeps } from '../shared/runtime.js';

useAwsAdapters({ readSecret, eventBus: eventBusPublisher });

export const handler = apiHandler(async (event) => {
  const raw = event.body ?? '';
  const rawBody = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  const headers: Record<string, string | undefined> = { ...(event.headers ?? {}) };
  const reply = await receiveWebhook(webhookDeps(), rawBody, headers);
  if (reply.status === 401) {
    throw new HttpProblem(401, 'signature-not-valid', 'The webhook signature is not valid', {
      errors: [{ path: 'header:Sign', message: 'does not match the body for any configured key' }],
    });
  }
  if (reply.status === 503) {
    throw new HttpProblem(503, 'webhook-being-applied', 'This event is being applied', {
      detail: 'another copy of this event is being applied; deliver it again later',
      headers: { 'retry-after': '30' },
    });
  }
  return json(reply.status, reply.body);
});
