/** GET /payouts/{id}/withdrawals?state=&limit=&cursor=: a payout's withdrawals, paged. */
import { tableReaderSystem } from '../shared/aws/dynamodb.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { listPayoutWithdrawals, type ReadDeps } from '../shared/payouts/queries.js';

export const makeHandler = (system: () => ReadDeps) =>
  apiHandler(async (event) =>
    json(
      200,
      await listPayoutWithdrawals(
        system(),
        callerIdentity(event),
        event.pathParameters?.id,
        event.queryStringParameters ?? {},
      ),
    ),
  );

export const handler = makeHandler(tableReaderSystem());
