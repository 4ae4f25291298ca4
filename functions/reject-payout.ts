/** POST /payouts/{id}/reject `{reason}`: an approver refuses the payout; nothing is sent. */
import { eventBusPublisher } from '../shared/aws/event-bus.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { rejectPayout } from '../shared/payouts/controls.js';
import { createDeps, useAwsAdapters } from '../shared/runtime.js';

useAwsAdapters({ eventBus: eventBusPublisher });

export const handler = apiHandler(
  async (event) => {
    const result = await rejectPayout(
      createDeps(),
      callerIdentity(event),
      event.pathParameters?.id,
      event.parsedBody,
    );
    return json(result.status, result.payout);
  },
  { jsonBodyMaxBytes: () => 16_384 },
);
