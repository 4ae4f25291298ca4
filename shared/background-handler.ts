/**
 * Builds a handler for a function outside API Gateway (async-invoked or scheduled) with the same
 * observability as the API's: the Lambda context on every log line with keys reset per
 * invocation, a correlation id (the event's, else the invocation's request id) in the logs and
 * on everything the invocation sends on, and its metrics published once when it ends.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { withCorrelationId } from './correlation.js';
import { flushMetrics } from './metrics.js';
import { logger } from './observability.js';

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The correlation id an event carries (`{correlationId}`), when it is a sane one. */
export function eventCorrelationId(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const given = (event as { correlationId?: unknown }).correlationId;
  return typeof given === 'string' && CORRELATION_ID.test(given) ? given : undefined;
}

export function backgroundHandler<R>(handle: (event: unknown, context: Context) => Promise<R>) {
  return middy<unknown, R, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics())
    .handler((event, context) => {
      const correlationId = eventCorrelationId(event) ?? context.awsRequestId;
      logger.appendKeys({ correlationId });
      return withCorrelationId(correlationId, () => handle(event, context));
    });
}
