/**
 * Hands work to another function by an asynchronous Lambda invoke: a payout to the submit
 * function, a stored webhook event to the apply function, each with the correlation id of the
 * request that handed it on, so the work's logs and events carry it too. Without the function
 * configured, the work waits for the reconciler (and the log says so).
 */
import { InvokeCommand } from '@aws-sdk/client-lambda';
import type { Config } from '../config.js';
import { currentCorrelationId } from '../correlation.js';
import { logger } from '../observability.js';
import type { SubmissionTrigger, WebhookApplyTrigger } from '../payouts/ports.js';
import { lambdaClient } from './lambda.js';

export function lambdaSubmitTrigger(functionName: string): SubmissionTrigger {
  return {
    async trigger(payoutId) {
      const correlationId = currentCorrelationId();
      await lambdaClient().send(
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
    async trigger(event) {
      await lambdaClient().send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: Buffer.from(JSON.stringify(event)),
        }),
      );
    },
  };
}

/** The submit function's trigger, when one is configured. */
export function submitTriggerOf(config: Pick<Config, 'submitFunctionName'>): SubmissionTrigger {
  if (config.submitFunctionName) return lambdaSubmitTrigger(config.submitFunctionName);
  return {
    trigger: (payoutId) => {
      logger.info('no submit function configured; the reconciler will submit', { payoutId });
      return Promise.resolve();
    },
  };
}

/** The apply function's trigger, when one is configured. */
export function applyTriggerOf(
  config: Pick<Config, 'applyWebhookFunctionName'>,
): WebhookApplyTrigger {
  if (config.applyWebhookFunctionName) return lambdaApplyTrigger(config.applyWebhookFunctionName);
  return {
    trigger: ({ eventId }) => {
      logger.info('no apply function configured; the reconciler will apply', { eventId });
      return Promise.resolve();
    },
  };
}
