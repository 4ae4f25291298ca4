/**
 * The one mapping of the use cases' errors to HTTP: each kind's status, and its code, title,
 * detail, fields, extra members and retry-after as the problem+json answer carries them.
 */
import { describe, expect, it } from 'vitest';
import { problemErrors, type ApiMiddleware } from '../../shared/http/middleware.js';
import { HttpProblem, problemOf } from '../../shared/http/problem.js';
import {
  Conflict,
  Forbidden,
  InvalidParameter,
  InvalidRequest,
  NotFinal,
  NotFound,
  Refused,
  Unavailable,
} from '../../shared/payouts/errors.js';

const TYPE = 'https://errors.payouts.internal/';

/** What the API answers when a handler throws `error`, through the problem middleware. */
function answer(error: unknown) {
  const request = {
    event: { correlationId: 'corr-1', path: '/payouts' },
    error,
    response: undefined,
  } as unknown as Parameters<NonNullable<ApiMiddleware['onError']>>[0];
  void problemErrors().onError!(request);
  const response = request.response!;
  return {
    status: response.statusCode,
    headers: response.headers,
    body: JSON.parse(response.body) as unknown,
  };
}

const field = { path: '$.recipients[0].amount', message: 'must be positive' };

describe('use-case errors as problem+json', () => {
  it.each([
    {
      error: new InvalidRequest([field]),
      status: 422,
      body: {
        type: `${TYPE}validation`,
        title: 'The request has invalid fields',
        status: 422,
        detail: '1 field failed validation',
        errors: [field],
      },
    },
    {
      error: new InvalidRequest([field, field]),
      status: 422,
      body: {
        type: `${TYPE}validation`,
        title: 'The request has invalid fields',
        status: 422,
        detail: '2 fields failed validation',
        errors: [field, field],
      },
    },
    {
      error: new InvalidParameter('limit is not valid', [
        { path: 'query:limit', message: 'must be a whole number from 1 to 1000' },
      ]),
      status: 400,
      body: {
        type: `${TYPE}bad-request`,
        title: 'Bad request',
        status: 400,
        detail: 'limit is not valid',
        errors: [{ path: 'query:limit', message: 'must be a whole number from 1 to 1000' }],
      },
    },
    {
      error: new NotFound('payout 42'),
      status: 404,
      body: {
        type: `${TYPE}not-found`,
        title: 'Not found',
        status: 404,
        detail: 'payout 42 does not exist',
      },
    },
    {
      error: new Forbidden('own-payout', 'You may not approve or reject your own payout', 'why'),
      status: 403,
      body: {
        type: `${TYPE}own-payout`,
        title: 'You may not approve or reject your own payout',
        status: 403,
        detail: 'why',
      },
    },
    {
      error: new Conflict('already-canceled', 'The payout is already cancelled', 'by ops'),
      status: 409,
      body: {
        type: `${TYPE}already-canceled`,
        title: 'The payout is already cancelled',
        status: 409,
        detail: 'by ops',
      },
    },
    {
      error: new Refused('daily-limit-exceeded', 'The daily limit would be exceeded', '5 remain', {
        errors: [{ path: '$.recipients', message: 'too much' }],
        extra: { remaining: '5', limit: '100' },
      }),
      status: 422,
      body: {
        type: `${TYPE}daily-limit-exceeded`,
        title: 'The daily limit would be exceeded',
        status: 422,
        detail: '5 remain',
        errors: [{ path: '$.recipients', message: 'too much' }],
        remaining: '5',
        limit: '100',
      },
    },
  ])('$error.name $error.code: $status', ({ error, status, body }) => {
    const res = answer(error);
    expect(res.status).toBe(status);
    expect(res.headers).toEqual({
      'content-type': 'application/problem+json',
      'x-correlation-id': 'corr-1',
    });
    expect(res.body).toEqual({ ...body, correlationId: 'corr-1' });
    // Member order is part of the answer: type, title, status, detail, errors, extra, id.
    expect(Object.keys(res.body as object)).toEqual([...Object.keys(body), 'correlationId']);
  });

  it.each([
    {
      error: new Conflict(
        'in-progress',
        'The first request with this Idempotency-Key is still being processed',
        'retry the same request shortly',
        { retryAfterSeconds: 3 },
      ),
      status: 409,
      retryAfter: '3',
    },
    {
      error: new NotFinal('batch 0 still has payments in progress', 60),
      status: 409,
      retryAfter: '60',
    },
    {
      error: new Unavailable(
        'calypso-unavailable',
        'The failed payments could not be confirmed at Calypso',
        'nothing was retried; try again shortly',
        30,
      ),
      status: 503,
      retryAfter: '30',
    },
  ])(
    '$error.name $error.code: $status with retry-after $retryAfter',
    ({ error, status, retryAfter }) => {
      const res = answer(error);
      expect(res.status).toBe(status);
      expect(res.headers).toEqual({
        'content-type': 'application/problem+json',
        'x-correlation-id': 'corr-1',
        'retry-after': retryAfter,
      });
      expect(res.body).toEqual({
        type: `${TYPE}${error.code}`,
        title: error.title,
        status,
        detail: error.detail,
        correlationId: 'corr-1',
      });
    },
  );

  it('answers NotFinal as not-final, with its title', () => {
    expect(problemOf(new NotFinal('the payout is SUBMITTED', 60)).body()).toEqual({
      type: `${TYPE}not-final`,
      title: 'The payout is not final yet',
      status: 409,
      detail: 'the payout is SUBMITTED',
    });
  });

  it('passes an HttpProblem through as it is', () => {
    const problem = new HttpProblem(401, 'unauthenticated', 'No caller identity on the request');
    expect(problemOf(problem)).toBe(problem);
  });

  it('answers anything else as a bare 500 that tells nothing internal', () => {
    const res = answer(new Error('ConditionalCheckFailed on PAYOUT#secret'));
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      type: `${TYPE}internal`,
      title: 'Internal error',
      status: 500,
      detail: 'the request failed on our side; quote the correlation id when reporting it',
      correlationId: 'corr-1',
    });
  });
});
