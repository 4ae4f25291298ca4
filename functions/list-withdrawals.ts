/** GET /payouts/{id}/withdrawals?state=&limit=&cursor=: a payout's withdrawals, paged. */
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { listPayoutWithdrawals } from '../shared/payouts/queries.js';
import { runtime } from '../shared/runtime.js';

export const handler = apiHandler(async (event) =>
  json(
    200,
    await listPayoutWithdrawals(
      runtime(),
      callerIdentity(event),
      event.pathParameters?.id,
      event.queryStringParameters ?? {},
    ),
  ),
);
