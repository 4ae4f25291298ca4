/**
 * POST /payouts/{id}/cancel `{reason?}`: by the owner or an approver, while nothing of the payout
 * has been sent to Calypso; afterwards 409 saying why.
 */
import { eventBusPublisher } from '../shared/aws/event-bus.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { cancelPayout } from '../shared/payouts/controls.js';
import { createDeps, useAwsAdapters } from '../shared/runtime.js';

useAwsAdapters({ eventBus: eventBusPublisher });

export const handler = apiHandler(
  async (event) => {
    const result = await cancelPayout(
      createDeps(),
      callerIdentity(event),
      event.pathParameters?.id,
      event.body ? event.parsedBody : undefined,
    );
    return json(result.status, result.payout);
  },
  { jsonBodyMaxBytes: () => 16_384, jsonBodyOptional: true },
);
