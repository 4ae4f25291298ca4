/** POST /payouts/{id}/retry-failed: a new payout of exactly the failed payments. */
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, header, json } from '../shared/http/middleware.js';
import { retryFailed } from '../shared/payouts/retry-failed.js';
import { createDeps, useAwsAdapters } from '../shared/runtime.js';
import { lambdaSubmitTrigger } from '../shared/aws/lambda-trigger.js';

useAwsAdapters({ submitTrigger: lambdaSubmitTrigger });

export const handler = apiHandler(async (event) => {
  const result = await retryFailed(createDeps(), {
    caller: callerIdentity(event),
    payoutId: event.pathParameters?.id,
    idempotencyKey: header(event, 'idempotency-key'),
  });
  return json(result.status, result.payout, { location: `/payouts/${result.payout.id}` });
});
