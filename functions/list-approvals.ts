/** GET /approvals?cursor=: payouts awaiting the caller's approval (never the caller's own). */
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { pendingApprovals } from '../shared/payouts/controls.js';
import { createDeps } from '../shared/runtime.js';

export const handler = apiHandler(async (event) =>
  json(
    200,
    await pendingApprovals(createDeps(), callerIdentity(event), event.queryStringParameters ?? {}),
  ),
);
