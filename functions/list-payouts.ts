/** GET /payouts?state=&stuck=&createdAfter=: the caller's owner's payouts (an auditor's: all), paged. */
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { listPayouts } from '../shared/payouts/queries.js';
import { runtime } from '../shared/runtime.js';

export const handler = apiHandler(async (event) =>
  json(200, await listPayouts(runtime(), callerIdentity(event), event.queryStringParameters ?? {})),
);
