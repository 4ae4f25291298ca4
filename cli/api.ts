/**
 * The payouts API over HTTP: JSON in and out, problem+json errors turned into ApiProblemError,
 * unreachable hosts into ApiUnreachableError naming the URL. Every request carries its own
 * `x-correlation-id`, so a failure can be quoted even when no answer came back.
 *
 * Transient failures are retried a few times: connection resets and timeouts, 429, 502-504, and
 * 409 "still being processed" (honouring a short Retry-After). That is safe for every request the
 * CLI makes: reads change nothing, a payout's POSTs carry an Idempotency-Key, and the controls
 * (approve, reject, cancel, pause, resume) do nothing twice: a repeat is refused (409) or a no-op.
 */
import { randomUUID } from 'node:crypto';

export interface FieldProblem {
  path: string;
  message: string;
}

export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldProblem[];
  correlationId?: string;
  [extension: string]: unknown;
}

export class ApiProblemError extends Error {
  constructor(
    readonly problem: Problem,
    readonly correlationId: string | undefined,
    readonly method: string,
    readonly url: string,
  ) {
    super(`${problem.status} ${problem.title}`);
    this.name = 'ApiProblemError';
  }

  get status(): number {
    return this.problem.status;
  }
}

export class ApiUnreachableError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly correlationId: string,
  ) {
    super(`could not reach ${url}: ${reason}`);
    this.name = 'ApiUnreachableError';
  }
}

/** Adds authentication headers to a request about to be sent (SigV4 for AWS). */
export type RequestSigner = (request: {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}) => Promise<Record<string, string>>;

export interface ApiClientOptions {
  /** e.g. `http://127.0.0.1:3000` or `https://abc.execute-api.eu-west-1.amazonaws.com/prod`. */
  baseUrl: string;
  /** Sent as `x-caller-id` (the local API's stand-in for IAM identity). */
  caller?: string;
  signer?: RequestSigner;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Per attempt. Default 30 000. */
  timeoutMs?: number;
  /** Default 3. */
  maxAttempts?: number;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  correlationId: string;
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  idempotencyKey?: string;
}

/** Network failures that mean nothing is listening there: retrying will not help. */
const NOT_THERE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const LONGEST_WAIT_MS = 10_000;

export class ApiClient {
  readonly baseUrl: string;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;

  constructor(private readonly options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  get<T>(path: string, query?: Record<string, string | undefined>): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path, query ? { query } : {});
  }

  post<T>(path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, options);
  }

  urlFor(path: string, query: Record<string, string | undefined> = {}): URL {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(name, value);
    return url;
  }

  async request<T>(
    method: 'GET' | 'POST',
    path: string,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const url = this.urlFor(path, options.query);
    const correlationId = randomUUID();
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const baseHeaders: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      'x-correlation-id': correlationId,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.idempotencyKey !== undefined
        ? { 'idempotency-key': options.idempotencyKey }
        : {}),
      ...(this.options.caller !== undefined ? { 'x-caller-id': this.options.caller } : {}),
    };

    for (let attempt = 1; ; attempt++) {
      const last = attempt >= this.maxAttempts;
      const headers = this.options.signer
        ? {
            ...baseHeaders,
            ...(await this.options.signer({
              method,
              url,
              headers: baseHeaders,
              ...(body !== undefined ? { body } : {}),
            })),
          }
        : baseHeaders;
      let response: Response;
      let text: string;
      try {
        response = await this.fetch(url, {
          method,
          headers,
          ...(body !== undefined ? { body } : {}),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        text = await response.text();
      } catch (err) {
        const code = errorCode(err);
        const reason = describeNetworkError(err, code, this.timeoutMs);
        if (last || (code !== undefined && NOT_THERE.has(code))) {
          throw new ApiUnreachableError(url.origin + url.pathname, reason, correlationId);
        }
        await this.sleep(backoff(attempt));
        continue;
      }

      const answeredId = response.headers.get('x-correlation-id') ?? correlationId;
      if (response.ok) {
        return {
          status: response.status,
          body: parseJson<T>(text, response, method, url),
          correlationId: answeredId,
        };
      }
      const wait = retryDelay(response, attempt);
      if (!last && wait !== undefined) {
        await this.sleep(wait);
        continue;
      }
      throw new ApiProblemError(
        toProblem(response, text),
        answeredId,
        method,
        url.origin + url.pathname,
      );
    }
  }
}

function parseJson<T>(text: string, response: Response, method: string, url: URL): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiProblemError(
      {
        title: 'The answer is not JSON',
        status: response.status,
        detail: `${url.origin}${url.pathname} answered ${response.status} with ${describeBody(response, text)}`,
      },
      response.headers.get('x-correlation-id') ?? undefined,
      method,
      url.origin + url.pathname,
    );
  }
}

/** How long to wait before retrying this answer, or undefined when it is not worth retrying. */
function retryDelay(response: Response, attempt: number): number | undefined {
  const retryAfter = parseRetryAfterSeconds(response.headers.get('retry-after'));
  if (response.status === 409) {
    // Only "the first request with this key is still being processed" comes with Retry-After.
    return retryAfter !== undefined && retryAfter * 1000 <= LONGEST_WAIT_MS
      ? Math.max(retryAfter * 1000, 200)
      : undefined;
  }
  if (
    response.status === 429 ||
    response.status === 502 ||
    response.status === 503 ||
    response.status === 504
  ) {
    if (retryAfter !== undefined)
      return retryAfter * 1000 <= LONGEST_WAIT_MS ? retryAfter * 1000 : undefined;
    return backoff(attempt);
  }
  return undefined;
}

function parseRetryAfterSeconds(value: string | null): number | undefined {
  if (value === null || !/^\s*[0-9]{1,6}\s*$/.test(value)) return undefined;
  return Number(value.trim());
}

function backoff(attempt: number): number {
  return Math.min(4000, 250 * 2 ** (attempt - 1));
}

/** The answer as a Problem: problem+json as is; anything else (a gateway's `{message}`, HTML) described. */
function toProblem(response: Response, text: string): Problem {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (isObject(parsed) && typeof parsed.title === 'string') {
    return {
      ...parsed,
      title: parsed.title,
      status: typeof parsed.status === 'number' ? parsed.status : response.status,
    };
  }
  const gatewayMessage =
    isObject(parsed) && typeof parsed.message === 'string' ? parsed.message : undefined;
  const errorType = response.headers.get('x-amzn-errortype')?.split(':')[0];
  return {
    title: response.statusText || statusTitle(response.status),
    status: response.status,
    detail: gatewayMessage
      ? `${gatewayMessage}${errorType ? ` (${errorType})` : ''}`
      : text.trim() === ''
        ? undefined
        : `the answer was ${describeBody(response, text)}`,
  };
}

function statusTitle(status: number): string {
  if (status === 401 || status === 403) return 'Forbidden';
  if (status === 404) return 'Not Found';
  if (status >= 500) return 'Server Error';
  return 'Error';
}

function describeBody(response: Response, text: string): string {
  const type = response.headers.get('content-type') ?? 'no content type';
  const snippet = text.trim().replace(/\s+/g, ' ').slice(0, 120);
  return snippet ? `${type}: ${snippet}` : `an empty body (${type})`;
}

function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && isObject(current); depth++) {
    if (typeof current.code === 'string') return current.code;
    current = current.cause;
  }
  return undefined;
}

function describeNetworkError(err: unknown, code: string | undefined, timeoutMs: number): string {
  if (isObject(err) && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was closed';
    default: {
      const cause = isObject(err) && err.cause instanceof Error ? err.cause.message : undefined;
      const message = err instanceof Error ? err.message : String(err);
      return cause && cause !== message ? `${message} (${cause})` : message;
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
