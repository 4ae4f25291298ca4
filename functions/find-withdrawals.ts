/** GET /withdrawals?externalId=: withdrawals with that externalId across payouts, paged. */
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { findWithdrawals } from '../shared/payouts/queries.js';
import { runtime } from '../shared/runtime.js';

export const handler = apiHandler(async (event) =>
  json(
    200,
    await findWithdrawals(runtime(), callerIdentity(event), event.queryStringParameters ?? {}),
  ),
);
