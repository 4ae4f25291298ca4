/** Hands a payout to the submit function by an asynchronous Lambda invoke. */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { SubmissionTrigger } from '../payouts/ports.js';

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
