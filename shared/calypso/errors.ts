/**
 * Errors from the Calypso client. None of them carries the secret key, the signature or the
 * request headers: only what Calypso answered (code, message, trace id) and what was attempted.
 */

/** The client operation that failed, e.g. `createMassPayout`. */
export type CalypsoOperation =
  | 'createMassPayout'
  | 'getMassPayout'
  | 'listWithdrawals'
  | 'createPayout'
  | 'getPayout'
  | 'getAccount'
  | 'createWebhookSubscription';

/**
 * Codes that are ours rather than Calypso's: `invalid-response` (a success whose body does not
 * match), `http-<status>` (an error status without a Calypso error body), `network`
 * (the connection could not be opened, so nothing reached Calypso), `timeout` / `connection-lost`
 * (the request may have reached Calypso), `too-many-pages` (a listing did not end).
 */
export type CalypsoClientErrorCode =
  | 'invalid-response'
  | 'network'
  | 'timeout'
  | 'connection-lost'
  | 'unknown-outcome'
  | 'too-many-pages'
  | `http-${number}`;

export interface CalypsoErrorDetails {
  /** Calypso's `errorCode` (`"000"`, `"016"`, …) or one of CalypsoClientErrorCode. */
  errorCode: string;
  message: string;
  operation: CalypsoOperation;
  /** HTTP status of the answer, when there was one. */
  httpStatus?: number;
  /** Calypso's trace id, for their support. */
  traceId?: string;
  /** True when the same request may succeed later (same payload and idempotency key). */
  retryable: boolean;
  /** How long the server asked us to wait (`Retry-After`), when it did. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class CalypsoError extends Error {
  readonly errorCode: string;
  readonly httpStatus: number | undefined;
  readonly traceId: string | undefined;
  readonly retryable: boolean;
  readonly operation: CalypsoOperation;
  readonly retryAfterMs: number | undefined;
  /**
   * Set by the client when an earlier attempt of the same call may have taken effect (a timeout,
   * a lost connection, a 5xx or `000`): whatever this error says, the request may have acted, so
   * a refusal here is not a definite one. Look the payout up by its key before believing it.
   */
  afterUncertainAttempt = false;

  constructor(details: CalypsoErrorDetails) {
    super(
      `Calypso ${details.operation} failed: ${details.errorCode}${
        details.message ? ` ${details.message}` : ''
      }`,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.name = 'CalypsoError';
    this.errorCode = details.errorCode;
    this.httpStatus = details.httpStatus;
    this.traceId = details.traceId;
    this.retryable = details.retryable;
    this.operation = details.operation;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/**
 * `016 IdempotencyKey … already exists`: the payout was created earlier (perhaps by an attempt
 * whose answer was lost). Resolve it by looking the payout up by its idempotency key.
 */
export class CalypsoIdempotencyKeyExistsError extends CalypsoError {
  constructor(details: CalypsoErrorDetails) {
    super(details);
    this.name = 'CalypsoIdempotencyKeyExistsError';
  }
}

/** The request was refused as invalid: `001`, `014`, `015`, or `016 … Validation failed`. */
export class CalypsoValidationError extends CalypsoError {
  constructor(details: CalypsoErrorDetails) {
    super(details);
    this.name = 'CalypsoValidationError';
  }
}

/** `004`: no such payout, withdrawal or subscription. */
export class CalypsoNotFoundError extends CalypsoError {
  constructor(details: CalypsoErrorDetails) {
    super(details);
    this.name = 'CalypsoNotFoundError';
  }
}

/** `002` invalid api key or `003` wrong sign: a configuration problem, never retried. */
export class CalypsoAuthError extends CalypsoError {
  constructor(details: CalypsoErrorDetails) {
    super(details);
    this.name = 'CalypsoAuthError';
  }
}

/**
 * Every attempt failed and at least one of them may have reached Calypso (timeout, connection
 * reset or dropped) without an answer. Whether the request took effect is unknown: for a create,
 * look the payout up by its idempotency key; never create it again with a new key.
 * `cause` is the last attempt's error.
 */
export class CalypsoUnknownOutcomeError extends CalypsoError {
  readonly attempts: number;

  constructor(details: CalypsoErrorDetails & { attempts: number }) {
    super(details);
    this.name = 'CalypsoUnknownOutcomeError';
    this.attempts = details.attempts;
  }
}

/** Calypso error codes that are safe to retry with the same payload. */
export const RETRYABLE_CALYPSO_CODES: ReadonlySet<string> = new Set(['000']);

/**
 * The error for a Calypso error body (`{errorCode, message, traceId}`); `retryable` follows the
 * code alone: only `000` is retried, whatever the HTTP status.
 */
export function errorFromCalypsoBody(
  body: { errorCode: string; message?: string | undefined; traceId?: string | undefined },
  context: { operation: CalypsoOperation; httpStatus?: number; retryAfterMs?: number },
): CalypsoError {
  const details: CalypsoErrorDetails = {
    errorCode: body.errorCode,
    message: body.message ?? '',
    operation: context.operation,
    httpStatus: context.httpStatus,
    traceId: body.traceId,
    retryable: RETRYABLE_CALYPSO_CODES.has(body.errorCode) || context.httpStatus === 429,
    retryAfterMs: context.retryAfterMs,
  };
  switch (body.errorCode) {
    case '002':
    case '003':
      return new CalypsoAuthError(details);
    case '004':
      return new CalypsoNotFoundError(details);
    case '001':
    case '014':
    case '015':
      return new CalypsoValidationError(details);
    case '016':
      return /already\s+exist/i.test(details.message)
        ? new CalypsoIdempotencyKeyExistsError(details)
        : new CalypsoValidationError(details);
    default:
      return new CalypsoError(details);
  }
}
