/**
 * Hands work to another function by an asynchronous Lambda invoke: a payout to the submit
 * function, a stored webhook event to the apply function.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { SubmissionTrigger, WebhookApplyTrigger } from '../payouts/ports.js';

let client: LambdaClient | undefined;

export function lambdaSubmitTrigger(functionName: string): SubmissionTrigger {
  return {
    async trigger(payoutId) {
      client ??= new LambdaClient({});
      await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: Buffer.from(JSON.stringify({ payoutId })),
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
