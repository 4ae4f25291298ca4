/** GET /payouts/{id}/events?limit=&cursor=: the payout's audit trail, oldest first. */
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { listPayoutEvents } from '../shared/payouts/queries.js';
import { runtime } from '../shared/runtime.js';

export const handler = apiHandler(async (event) =>
  json(
    200,
    await listPayoutEvents(
      runtime(),
      callerIdentity(event),
      event.pathParameters?.id,
      event.queryStringParameters ?? {},
    ),
  ),
);
