/** GET /payouts/{id}: state, counts by withdrawal state, totals, fees and batches. */
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { getPayout } from '../shared/payouts/queries.js';
import { runtime } from '../shared/runtime.js';

export const handler = apiHandler(async (event) =>
  json(200, await getPayout(runtime(), callerIdentity(event), event.pathParameters?.id)),
);
