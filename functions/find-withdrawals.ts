/** GET /withdrawals?externalId=: withdrawals with that externalId across payouts, paged. */
import { tableReaderSystem } from '../shared/aws/dynamodb.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { findWithdrawals, type ReadDeps } from '../shared/payouts/queries.js';

export const makeHandler = (system: () => ReadDeps) =>
  apiHandler(async (event) =>
    json(
      200,
      await findWithdrawals(system(), callerIdentity(event), event.queryStringParameters ?? {}),
    ),
  );

export const handler = makeHandler(tableReaderSystem());
