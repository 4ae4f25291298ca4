/** POST /payouts/{id}/approve: one approval by an approver who is not the payout's creator. */
import { lambdaSubmitTrigger } from '../shared/aws/lambda-trigger.js';
import { eventBusPublisher } from '../shared/aws/event-bus.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { approvePayout } from '../shared/payouts/controls.js';
import { createDeps, useAwsAdapters } from '../shared/runtime.js';

useAwsAdapters({ submitTrigger: lambdaSubmitTrigger, eventBus: eventBusPublisher });

export const handler = apiHandler(async (event) => {
  const result = await approvePayout(createDeps(), callerIdentity(event), event.pathParameters?.id);
  return json(result.status, result.payout);
});
