/** GET /payouts/{id}: state, counts by withdrawal state, totals, fees and batches. */
import { tableReaderSystem } from '../shared/aws/dynamodb.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { getPayout, type ReadDeps } from '../shared/payouts/queries.js';

export const makeHandler = (system: () => ReadDeps) =>
  apiHandler(async (event) =>
    json(200, await getPayout(system(), callerIdentity(event), event.pathParameters?.id)),
  );

export const handler = makeHandler(tableReaderSystem());
