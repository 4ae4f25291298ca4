/** GET /payouts?state=&stuck=&createdAfter=: the caller's owner's payouts (an auditor's: all), paged. */
import { tableReaderSystem } from '../shared/aws/dynamodb.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { listPayouts, type ReadDeps } from '../shared/payouts/queries.js';

export const makeHandler = (system: () => ReadDeps) =>
  apiHandler(async (event) =>
    json(
      200,
      await listPayouts(system(), callerIdentity(event), event.queryStringParameters ?? {}),
    ),
  );

export const handler = makeHandler(tableReaderSystem());
