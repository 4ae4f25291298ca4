/** GET /payouts/{id}/events?limit=&cursor=: the payout's audit trail, oldest first. */
import { tableReaderSystem } from '../shared/aws/dynamodb.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { listPayoutEvents, type ReadDeps } from '../shared/payouts/queries.js';

export const makeHandler = (system: () => ReadDeps) =>
  apiHandler(async (event) =>
    json(
      200,
      await listPayoutEvents(
        system(),
        callerIdentity(event),
        event.pathParameters?.id,
        event.queryStringParameters ?? {},
      ),
    ),
  );

export const handler = makeHandler(tableReaderSystem());
