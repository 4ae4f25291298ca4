/**
 * The signed transport to Calypso Pay: one call is one request, made of attempts. Each attempt
 * wraps the payload in the envelope `{"timestamp":<ms>,"account":"…","payload":{…}}`, serialises
 * it once, signs that exact string (`Sign`, HMAC-SHA512 with the secret key, beside `Key`) and
 * sends that same string, under a deadline that covers reading the answer. Network errors,
 * timeouts, 5xx, 429 and `000` are retried (after `Retry-After` when given, else a full-jitter
 * backoff) with the same payload and a fresh timestamp and signature; a changing call whose
 * attempts may have acted ends in an unknown outcome. A bound on requests in flight holds across
 * every call made through one transport. What is called, and how its answer reads, is the
 * endpoints' business (client.ts).
 */
import type * as z from 'zod/mini';
import { CALYPSO_DEFAULTS as DEFAULTS } from '../defaults.js';
import { isObject, nonEmpty, normalisePath, positiveInt, wholeNumber } from './checks.js';
import {
  CalypsoAuthError,
  CalypsoError,
  CalypsoUnknownOutcomeError,
  errorFromCalypsoBody,
  type CalypsoOperation,
} from './errors.js';
import { parseJsonLossless, stringifyForCalypso } from './json.js';
import { errorBodySchema } from './schemas.js';
import { sign } from './signing.js';

export interface CalypsoTransportConfig {
  /** e.g. `https://api.calypso.finance`; differs between environments. */
  baseUrl: string;
  /** Default `/api/v1`. */
  pathPrefix?: string;
  apiKey: string;
  secretKey: string;
  /** The merchant account id sent in every envelope; opaque, not validated. */
  account: string;
  /** Per attempt, reading the answer included. Default 10 000. */
  timeoutMs?: number;
  /** Attempts per call, the first included. Default 4. */
  maxAttempts?: number;
  /** Backoff before the second attempt, doubled each time, then full jitter. Default 250. */
  baseDelayMs?: number;
  /** Ceiling of the backoff. Default 5 000. */
  maxDelayMs?: number;
  /**
   * A `Retry-After` longer than this is not waited for: the call fails at once (retryable, with
   * `retryAfterMs` set) and the caller comes back later. Default 60 000.
   */
  maxRetryAfterMs?: number;
  /** Requests in flight at once through this transport. Default 8. */
  maxConcurrency?: number;
}

export interface CalypsoTransportDeps {
  fetch?: typeof fetch;
  /** Unix time in milliseconds. */
  now?: () => number;
  /** Waits between attempts. */
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1), for the backoff's jitter. */
  random?: () => number;
}

/** Reads an answer's body; `safeParse` as zod's. */
export type ResponseSchema<T> = Pick<z.ZodMiniType<T>, 'safeParse'>;

/** One call: what is asked, where, and how the answer reads. */
export interface CalypsoRequest<T> {
  operation: CalypsoOperation;
  /** Under the path prefix, e.g. `/payout/mass`. */
  path: string;
  /** Omitted for calls without input: the envelope is then `{timestamp, account}`. */
  payload?: Record<string, unknown>;
  /** Reads the answer. */
  schema: ResponseSchema<T>;
  /** The call changes something at Calypso: a lost answer is then an unknown outcome. */
  changes: boolean;
}

/** Connection failures that happen before any byte of the request is sent. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

type AttemptResult<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      error: CalypsoError;
      /** The request may have taken effect. */ uncertain: boolean;
    };

export class CalypsoTransport {
  private readonly baseUrl: string;
  private readonly prefix: string;
  private readonly apiKey: string;
  private readonly secretKey: string;
  private readonly account: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly slots: Semaphore;

  constructor(config: CalypsoTransportConfig, deps: CalypsoTransportDeps = {}) {
    this.baseUrl = checkBaseUrl(config.baseUrl);
    this.prefix = normalisePath(config.pathPrefix ?? DEFAULTS.pathPrefix);
    this.apiKey = nonEmpty(config.apiKey, 'apiKey');
    this.secretKey = nonEmpty(config.secretKey, 'secretKey');
    this.account = nonEmpty(config.account, 'account');
    this.timeoutMs = positiveInt(config.timeoutMs ?? DEFAULTS.timeoutMs, 'timeoutMs');
    this.maxAttempts = positiveInt(config.maxAttempts ?? DEFAULTS.maxAttempts, 'maxAttempts');
    this.baseDelayMs = wholeNumber(config.baseDelayMs ?? DEFAULTS.baseDelayMs, 'baseDelayMs');
    this.maxDelayMs = wholeNumber(config.maxDelayMs ?? DEFAULTS.maxDelayMs, 'maxDelayMs');
    this.maxRetryAfterMs = wholeNumber(
      config.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs,
      'maxRetryAfterMs',
    );
    this.slots = new Semaphore(
      positiveInt(config.maxConcurrency ?? DEFAULTS.maxConcurrency, 'maxConcurrency'),
    );
    this.fetch = deps.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = deps.random ?? Math.random;
  }

  /**
   * Runs attempts until one settles the call. Retried: network errors, timeouts, 5xx, 429 and
   * `000`, after `Retry-After` when given, else after a full-jitter backoff. When every attempt
   * failed and one of them may have taken effect, a changing call ends in
   * CalypsoUnknownOutcomeError; otherwise the last attempt's error is thrown, marked
   * `afterUncertainAttempt` when an earlier attempt may have taken effect.
   */
  async call<T>(request: CalypsoRequest<T>): Promise<T> {
    let last: CalypsoError | undefined;
    let uncertain = false;
    let attempts = 0;
    while (attempts < this.maxAttempts) {
      attempts += 1;
      const release = await this.slots.acquire();
      let result: AttemptResult<T>;
      try {
        result = await this.attempt(request);
      } finally {
        release();
      }
      if (result.ok) return result.value;
      last = result.error;
      last.afterUncertainAttempt = uncertain;
      uncertain ||= result.uncertain;
      if (!last.retryable || attempts === this.maxAttempts) break;
      const retryAfter = last.retryAfterMs;
      if (retryAfter !== undefined && retryAfter > this.maxRetryAfterMs) break;
      await this.sleep(retryAfter ?? this.backoff(attempts));
    }
    if (last === undefined) throw new Error('unreachable: no attempt was made');
    if (last.retryable && uncertain && request.changes) {
      throw new CalypsoUnknownOutcomeError({
        errorCode: 'unknown-outcome',
        message: `no answer that settles the request after ${attempts} attempt(s) (last: ${last.errorCode}); look it up before trying again`,
        operation: request.operation,
        httpStatus: last.httpStatus,
        traceId: last.traceId,
        retryable: true,
        retryAfterMs: last.retryAfterMs,
        attempts,
        cause: last,
      });
    }
    throw last;
  }

  /** Full jitter: a uniform wait in [0, min(max, base·2^(attempt-1))). */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(this.random() * ceiling);
  }

  private async attempt<T>(request: CalypsoRequest<T>): Promise<AttemptResult<T>> {
    const { operation } = request;
    const timestamp = Math.trunc(this.now());
    const envelope =
      request.payload === undefined
        ? { timestamp, account: this.account }
        : { timestamp, account: this.account, payload: request.payload };
    const body = stringifyForCalypso(envelope);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    let status: number;
    let retryAfterHeader: string | null;
    let text: string;
    // The deadline holds even for a fetch that ignores the signal while the body is read.
    const deadline = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(new Error('deadline passed')), {
        once: true,
      });
    });
    deadline.catch(() => undefined);
    try {
      const response = await Promise.race([
        this.fetch(`${this.baseUrl}${this.prefix}${request.path}`, {
          method: 'POST',
          headers: {
            Key: this.apiKey,
            Sign: sign(body, this.secretKey),
            'Content-Type': 'application/json',
            Accept: 'application/json',
          },
          body,
          signal: controller.signal,
        }),
        deadline,
      ]);
      status = response.status;
      retryAfterHeader = response.headers.get('retry-after');
      const reading = response.text();
      reading.catch(() => undefined);
      text = await Promise.race([reading, deadline]);
    } catch (err) {
      if (timedOut) {
        return {
          ok: false,
          uncertain: true,
          error: new CalypsoError({
            errorCode: 'timeout',
            message: `no complete answer within ${this.timeoutMs} ms`,
            operation,
            retryable: true,
          }),
        };
      }
      const code = errorCodeOf(err);
      const notSent = code !== undefined && NOT_SENT_CODES.has(code);
      return {
        ok: false,
        uncertain: !notSent,
        error: new CalypsoError({
          errorCode: notSent ? 'network' : 'connection-lost',
          message: notSent
            ? `could not connect (${code})`
            : `the connection failed before a complete answer${code ? ` (${code})` : ''}`,
          operation,
          retryable: true,
          cause: err,
        }),
      };
    } finally {
      clearTimeout(timer);
    }
    return this.interpret(request, status, retryAfterHeader, text);
  }

  private interpret<T>(
    request: CalypsoRequest<T>,
    status: number,
    retryAfterHeader: string | null,
    text: string,
  ): AttemptResult<T> {
    const { operation } = request;
    const retryAfterMs = parseRetryAfter(retryAfterHeader, this.now());
    let parsed: unknown;
    let parseFailed = false;
    try {
      parsed = text.trim() === '' ? undefined : parseJsonLossless(text);
    } catch {
      parseFailed = true;
    }
    const calypsoError = (): CalypsoError | undefined => {
      if (!isObject(parsed) || parsed.errorCode === undefined || parsed.errorCode === null) {
        return undefined;
      }
      const body = errorBodySchema.safeParse(parsed);
      return body.success
        ? errorFromCalypsoBody(body.data, { operation, httpStatus: status, retryAfterMs })
        : undefined;
    };

    if (status >= 200 && status < 300) {
      const result = parseFailed ? undefined : request.schema.safeParse(parsed);
      if (result?.success) return { ok: true, value: result.data };
      const error = calypsoError();
      if (error) return { ok: false, error, uncertain: mayHaveActed(error, status) };
      return {
        ok: false,
        uncertain: false,
        error: new CalypsoError({
          errorCode: 'invalid-response',
          message: parseFailed
            ? `HTTP ${status} with a body that is not JSON`
            : `HTTP ${status} with an unexpected body: ${describeIssues(result?.error.issues ?? [])}`,
          operation,
          httpStatus: status,
          retryable: false,
        }),
      };
    }

    const error = calypsoError();
    if (error) return { ok: false, error, uncertain: mayHaveActed(error, status) };
    const details = {
      errorCode: `http-${status}` as const,
      message: `HTTP ${status} without a Calypso error body`,
      operation,
      httpStatus: status,
      retryable: status >= 500 || status === 429,
      retryAfterMs,
    };
    return {
      ok: false,
      uncertain: status >= 500,
      error:
        status === 401 || status === 403
          ? new CalypsoAuthError(details)
          : new CalypsoError(details),
    };
  }
}

/**
 * Whether a request answered with this error may still have taken effect: an internal error
 * (`000`, any 5xx, a gateway's 5xx included) can happen after the payout was stored.
 */
function mayHaveActed(error: CalypsoError, status: number): boolean {
  return status >= 500 || error.errorCode === '000';
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^[0-9]{1,9}$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function describeIssues(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  const shown = issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
  return issues.length > 5 ? `${shown.join('; ')}; …` : shown.join('; ');
}

/** The first `code` along an error's cause chain (undici puts the socket's code in `cause`). */
function errorCodeOf(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && isObject(current); depth += 1) {
    if (typeof current.code === 'string') return current.code;
    current = current.cause;
  }
  return undefined;
}

function checkBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`CalypsoClient: baseUrl is not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('CalypsoClient: baseUrl must be http(s)');
  }
  return value.replace(/\/+$/, '');
}

/** A counting semaphore: at most `limit` holders; the others wait in arrival order. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async acquire(): Promise<() => void> {
    if (this.active < this.limit) {
      this.active += 1;
    } else {
      // The releasing holder hands its slot over, so `active` stays as it is.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    };
  }
}
