/** POST /payouts: validate, store under the caller's Idempotency-Key, hand to submission. */
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, header, json } from '../shared/http/middleware.js';
import { createPayout } from '../shared/payouts/create-payout.js';
import { eventBusPublisher } from '../shared/aws/event-bus.js';
import { createDeps, runtime, useAwsAdapters } from '../shared/runtime.js';
import { balancesFunctionCalypso } from '../shared/aws/balances-function.js';
import { lambdaSubmitTrigger } from '../shared/aws/lambda-trigger.js';

// No signing key here: the dry run reads the balance through the get-balances function.
useAwsAdapters({
  submitTrigger: lambdaSubmitTrigger,
  balancesFunction: balancesFunctionCalypso,
  eventBus: eventBusPublisher,
});

export const handler = apiHandler(
  async (event) => {
    const result = await createPayout(createDeps(), {
      caller: callerIdentity(event),
      idempotencyKey: header(event, 'idempotency-key'),
      body: event.parsedBody,
      dryRun: event.queryStringParameters?.dryRun === 'true',
    });
    if ('dryRun' in result) return json(200, result.dryRun);
    return json(result.status, result.payout, { location: `/payouts/${result.payout.id}` });
  },
  { jsonBodyMaxBytes: () => runtime().config.maxBodyBytes },
);
