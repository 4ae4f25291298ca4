/**
 * Hands work to another function by an asynchronous Lambda invoke: a payout to the submit
 * function, a stored webhook event to the apply function, each with the correlation id of the
 * request that handed it on, so the work's logs and events carry it too.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { currentCorrelationId } from '../correlation.js';
import type { SubmissionTrigger, WebhookApplyTrigger } from '../payouts/ports.js';

let client: LambdaClient | undefined;

export function lambdaSubmitTrigger(functionName: string): SubmissionTrigger {
  return {
    async trigger(payoutId) {
      client ??= new LambdaClient({});
      const correlationId = currentCorrelationId();
      await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: Buffer.from(
            JSON.stringify({ payoutId, ...(correlationId ? { correlationId } : {}) }),
          ),
        }),
      );
    },
  };
}

export function lambdaApplyTrigger(functionName: string): WebhookApplyTrigger {
  return {
    async trigger(eventId) {
      client ??= new LambdaClient({});
      await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: Buffer.from(JSON.stringify({ eventId })),
        }),
      );
    },
  };
}
