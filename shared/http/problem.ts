/**
 * RFC 9457 problem details. A caller's mistake is a 4xx naming the field; our failure is a 5xx
 * with a correlation id and nothing internal. The use cases' errors get their status here, and
 * only here (problemOf).
 */
import type { FieldError } from '../domain/payout-request.js';
import { isUseCaseError, type UseCaseError } from '../payouts/errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
  correlationId?: string;
  [extension: string]: unknown;
}

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    readonly options: {
      detail?: string;
      errors?: FieldError[];
      headers?: Record<string, string>;
      extra?: Record<string, unknown>;
    } = {},
  ) {
    super(options.detail ?? title);
    this.name = 'HttpProblem';
  }

  body(correlationId?: string): ProblemBody {
    return {
      type: `https://errors.payouts.internal/${this.slug}`,
      title: this.title,
      status: this.status,
      ...(this.options.detail ? { detail: this.options.detail } : {}),
      ...(this.options.errors ? { errors: this.options.errors } : {}),
      ...(this.options.extra ?? {}),
      ...(correlationId ? { correlationId } : {}),
    };
  }
}

export const problems = {
  malformedJson: (detail: string) =>
    new HttpProblem(400, 'malformed-json', 'The body is not valid JSON', { detail }),
  unsupportedMediaType: (got: string | undefined) =>
    new HttpProblem(415, 'unsupported-media-type', 'Unsupported content type', {
      detail: `send the body as application/json${got ? ` (got ${got.slice(0, 100)})` : ''}`,
    }),
  tooLarge: (limit: number) =>
    new HttpProblem(413, 'body-too-large', 'The body is too large', {
      detail: `the limit is ${limit} bytes`,
    }),
  internal: () =>
    new HttpProblem(500, 'internal', 'Internal error', {
      detail: 'the request failed on our side; quote the correlation id when reporting it',
    }),
};

const STATUS: Record<UseCaseError['kind'], number> = {
  'invalid-parameter': 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'not-final': 409,
  'invalid-request': 422,
  refused: 422,
  unavailable: 503,
};

/**
 * The problem to answer for anything a request threw: an HttpProblem as it is, a use case's error
 * by its kind, anything else a bare 500.
 */
export function problemOf(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (!isUseCaseError(error)) return problems.internal();
  const { errors, extra, retryAfterSeconds } = error.facts;
  return new HttpProblem(STATUS[error.kind], error.code, error.title, {
    detail: error.detail,
    ...(errors ? { errors } : {}),
    ...(retryAfterSeconds !== undefined
      ? { headers: { 'retry-after': String(retryAfterSeconds) } }
      : {}),
    ...(extra ? { extra } : {}),
  });
}
