/** Builds an API Gateway handler with the standard middlewares, so each function stays thin. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { withCorrelationId } from '../correlation.js';
import { flushMetrics } from '../metrics.js';
import { logger } from '../observability.js';
import { correlation, jsonBody, problemErrors, type ApiEvent } from './middleware.js';

export function apiHandler(
  handle: (event: ApiEvent, context: Context) => Promise<APIGatewayProxyResult>,
  options: {
    jsonBodyMaxBytes?: () => number;
    /** A request without a body is let through (the body is then optional, not malformed). */
    jsonBodyOptional?: boolean;
  } = {},
) {
  const chain = middy<ApiEvent, APIGatewayProxyResult, Error, Context>()
    // Request id and cold start on every log line; keys appended during a request end with it.
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics())
    .use(correlation())
    .use(problemErrors());
  if (options.jsonBodyMaxBytes) {
    const maxBytes = options.jsonBodyMaxBytes;
    const optional = options.jsonBodyOptional === true;
    chain.use({
      before: (request) => {
        if (optional && !request.event.body) return;
        return jsonBody(maxBytes()).before!(request);
      },
    });
  }
  return chain.handler((event, context) =>
    event.correlationId
      ? withCorrelationId(event.correlationId, () => handle(event, context))
      : handle(event, context),
  );
}
