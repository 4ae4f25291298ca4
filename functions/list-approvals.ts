/** GET /approvals?cursor=: payouts awaiting the caller's approval (never the caller's own). */
import { tableReaderSystem } from '../shared/aws/dynamodb.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { pendingApprovals, type ApprovalsDeps } from '../shared/payouts/controls.js';

export const makeHandler = (system: () => ApprovalsDeps) =>
  apiHandler(async (event) =>
    json(
      200,
      await pendingApprovals(system(), callerIdentity(event), event.queryStringParameters ?? {}),
    ),
  );

export const handler = makeHandler(tableReaderSystem());
