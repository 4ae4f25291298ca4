/** Builds an API Gateway handler with the standard middlewares, so each function stays thin. */
import middy from '@middy/core';
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
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
  return chain.handler(handle);
}
