/**
 * POST /payouts/{id}/retry-failed: a new payout of exactly the failed payments, once per payout
 * (an Idempotency-Key may be sent; the retry is the same whatever it is).
 */
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { retryFailed } from '../shared/payouts/retry-failed.js';
import { createDeps, useAwsAdapters } from '../shared/runtime.js';
import { lambdaSubmitTrigger } from '../shared/aws/lambda-trigger.js';
import { readSecret } from '../shared/aws/secrets-manager.js';
import { eventBusPublisher } from '../shared/aws/event-bus.js';

useAwsAdapters({ readSecret, submitTrigger: lambdaSubmitTrigger, eventBus: eventBusPublisher });

export const handler = apiHandler(async (event) => {
  const result = await retryFailed(createDeps(), {
    caller: callerIdentity(event),
    payoutId: event.pathParameters?.id,
  });
  return json(result.status, result.payout, { location: `/payouts/${result.payout.id}` });
});
