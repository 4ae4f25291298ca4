/**
 * RFC 9457 problem details. A caller's mistake is a 4xx naming the field; our failure is a 5xx
 * with a correlation id and nothing internal.
 */
import type { FieldError } from '../domain/payout-request.js';

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
  validation: (errors: FieldError[]) =>
    new HttpProblem(422, 'validation', 'The request has invalid fields', {
      detail: `${errors.length} field${errors.length === 1 ? '' : 's'} failed validation`,
      errors,
    }),
  badRequest: (detail: string, errors?: FieldError[]) =>
    new HttpProblem(400, 'bad-request', 'Bad request', { detail, ...(errors ? { errors } : {}) }),
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
  notFound: (what: string) =>
    new HttpProblem(404, 'not-found', 'Not found', { detail: `${what} does not exist` }),
  internal: () =>
    new HttpProblem(500, 'internal', 'Internal error', {
      detail: 'the request failed on our side; quote the correlation id when reporting it',
    }),
};
