/**
 * middy middlewares for the API handlers: correlation id, caller identity, JSON body checks and
 * problem+json errors. Below this line no handler sees a raw API Gateway event it must police.
 */
import { randomUUID } from 'node:crypto';
import type middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { callerFromArn, type Caller } from '../domain/identity.js';
import { logger } from '../observability.js';
import { HttpProblem, PROBLEM_CONTENT_TYPE, problemOf, problems } from './problem.js';

export type ApiEvent = APIGatewayProxyEvent & {
  /** Set by the jsonBody middleware. */
  parsedBody?: unknown;
  /** Set by the correlation middleware. */
  correlationId?: string;
};
export type ApiMiddleware = middy.MiddlewareObj<ApiEvent, APIGatewayProxyResult, Error, Context>;

export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === lower && value !== undefined) return value;
  }
  return undefined;
}

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Takes the caller's x-correlation-id (when sane) or makes one; echoes it on every response. */
export function correlation(): ApiMiddleware {
  return {
    before: (request) => {
      const given = header(request.event, 'x-correlation-id');
      const id = given && CORRELATION_ID.test(given) ? given : randomUUID();
      request.event.correlationId = id;
      // The request id and cold start come with the Lambda context (injectLambdaContext).
      logger.resetKeys();
      logger.appendKeys({ correlationId: id });
    },
    after: (request) => {
      if (request.response && request.event.correlationId) {
        request.response.headers = {
          ...request.response.headers,
          'x-correlation-id': request.event.correlationId,
        };
      }
    },
  };
}

/** Turns what a request threw into problem+json (see problemOf): a use case's error or ours. */
export function problemErrors(): ApiMiddleware {
  return {
    onError: (request) => {
      const correlationId = request.event.correlationId;
      const problem = problemOf(request.error);
      if (problem.status >= 500) {
        logger.error('request failed', {
          error: request.error ?? undefined,
          path: request.event.path,
        });
      } else {
        logger.info('request refused', { status: problem.status, problem: problem.slug });
      }
      request.response = {
        statusCode: problem.status,
        headers: {
          'content-type': PROBLEM_CONTENT_TYPE,
          ...(correlationId ? { 'x-correlation-id': correlationId } : {}),
          ...(problem.options.headers ?? {}),
        },
        body: JSON.stringify(problem.body(correlationId)),
      };
    },
  };
}

/** Requires a JSON body no larger than maxBytes and parses it into event.parsedBody. */
export function jsonBody(maxBytes: number): ApiMiddleware {
  return {
    before: (request) => {
      const event = request.event;
      const contentType = header(event, 'content-type');
      const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
      if (
        mediaType !== 'application/json' &&
        !(mediaType?.startsWith('application/') && mediaType.endsWith('+json'))
      ) {
        throw problems.unsupportedMediaType(contentType);
      }
      const raw = event.body ?? '';
      const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
      if (bytes.length > maxBytes) throw problems.tooLarge(maxBytes);
      if (bytes.length === 0) throw problems.malformedJson('the body is empty');
      try {
        event.parsedBody = JSON.parse(bytes.toString('utf8'));
      } catch (err) {
        throw problems.malformedJson((err as Error).message.slice(0, 200));
      }
    },
  };
}

/**
 * The caller's identity: the IAM principal API Gateway authenticated, with an assumed role's
 * session name split off (see shared/domain/identity.ts). Ownership, idempotency and the audit
 * trail rest on the principal; the session is detail.
 */
export function callerIdentity(event: APIGatewayProxyEvent): Caller {
  const identity = event.requestContext?.identity;
  const arn = identity?.userArn ?? identity?.caller ?? identity?.user;
  if (!arn) throw new HttpProblem(401, 'unauthenticated', 'No caller identity on the request');
  return callerFromArn(arn);
}

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
