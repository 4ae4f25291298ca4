/**
 * Hands a payout to the submit function by an asynchronous Lambda invoke, with the correlation
 * id of the request that accepted it, so the submission's logs and events carry it too.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { currentCorrelationId } from '../correlation.js';
import type { SubmissionTrigger } from '../payouts/ports.js';

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
