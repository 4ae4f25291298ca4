/**
 * POST /payouts/{id}/retry-failed: a new payout of exactly the failed payments, once per payout
 * (an Idempotency-Key may be sent; the retry is the same whatever it is).
 */
import { secretSigningCalypso } from '../shared/aws/calypso.js';
import { containerSystem } from '../shared/aws/container.js';
import { submitTriggerOf } from '../shared/aws/lambda-trigger.js';
import { tableWriterPorts } from '../shared/aws/writer.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { retryFailed } from '../shared/payouts/retry-failed.js';
import { createDeps, type System } from '../shared/system.js';

export const makeHandler = (
  system: () => System<'repository' | 'events' | 'trigger' | 'calypso'>,
) =>
  apiHandler(async (event) => {
    const result = await retryFailed(createDeps(system()), {
      caller: callerIdentity(event),
      payoutId: event.pathParameters?.id,
    });
    return json(result.created ? 202 : 200, result.payout, {
      location: `/payouts/${result.payout.id}`,
    });
  });

// Reads the failed payments again at Calypso before re-paying any.
export const handler = makeHandler(
  containerSystem((config) => ({
    ...tableWriterPorts(config),
    trigger: submitTriggerOf(config),
    calypso: secretSigningCalypso(config),
  })),
);
