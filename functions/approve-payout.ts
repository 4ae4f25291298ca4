/** POST /payouts/{id}/approve: one approval by an approver who is not the payout's creator. */
import { containerSystem } from '../shared/aws/container.js';
import { submitTriggerOf } from '../shared/aws/lambda-trigger.js';
import { tableWriterPorts } from '../shared/aws/writer.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { approvePayout, type ControlDeps } from '../shared/payouts/controls.js';

export const makeHandler = (system: () => ControlDeps) =>
  apiHandler(async (event) => {
    const result = await approvePayout(system(), callerIdentity(event), event.pathParameters?.id);
    return json(200, result.payout);
  });

// The last approval hands the payout to submission.
export const handler = makeHandler(
  containerSystem((config) => ({ ...tableWriterPorts(config), trigger: submitTriggerOf(config) })),
);
