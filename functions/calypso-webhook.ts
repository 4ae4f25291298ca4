/**
 * POST /webhooks/calypso: Calypso only (no IAM; the signature is the authentication). Verifies
 * Key and Sign over the raw body, stores the event once and answers; the apply function applies
 * it after the answer (async invoke).
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { containerSystem } from '../shared/aws/container.js';
import { tableRepository } from '../shared/aws/dynamodb.js';
import { applyTriggerOf } from '../shared/aws/lambda-trigger.js';
import { readSecret } from '../shared/aws/secrets-manager.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { json } from '../shared/http/middleware.js';
import { HttpProblem } from '../shared/http/problem.js';
import { receiveWebhook, type WebhookOutcome } from '../shared/payouts/webhooks.js';
import { webhookKeySource } from '../shared/secrets.js';
import { webhookDeps, type System } from '../shared/system.js';

/**
 * The answer to each outcome. Calypso delivers again whatever is not answered 2xx, so every
 * stored event is a 200; a bad signature is a 401 problem (thrown, to the problem middleware).
 */
export function webhookResponse(outcome: WebhookOutcome): APIGatewayProxyResult {
  switch (outcome.kind) {
    case 'bad-signature':
      throw new HttpProblem(401, 'signature-not-valid', 'The webhook signature is not valid', {
        errors: [
          { path: 'header:Sign', message: 'does not match the body for any configured key' },
        ],
      });
    case 'stored':
      return json(200, { stored: true });
    case 'stored-malformed':
      return json(200, { stored: true, verdict: 'malformed' });
    case 'duplicate':
      return json(200, { duplicate: true });
  }
}

export const makeHandler = (system: () => System<'repository' | 'webhookKeys' | 'applyWebhook'>) =>
  apiHandler(async (event) => {
    const raw = event.body ?? '';
    const rawBody = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    const headers: Record<string, string | undefined> = { ...(event.headers ?? {}) };
    return webhookResponse(await receiveWebhook(webhookDeps(system()), rawBody, headers));
  });

export const handler = makeHandler(
  containerSystem((config) => ({
    repository: tableRepository(config),
    webhookKeys: webhookKeySource(config.webhookKeys, readSecret),
    applyWebhook: applyTriggerOf(config),
  })),
);
