/**
 * Calypso's error answers: `{errorCode, message, traceId}`, HTTP 400 (500 for `000`).
 */

export const ERROR_CODES = {
  internal: '000',
  badRequest: '001',
  invalidApiKey: '002',
  wrongSign: '003',
  notFound: '004',
  invalidTimestamp: '011',
  invalidPayoutState: '012',
  dealRejected: '016',
} as const;

export class CalypsoError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
    readonly httpStatus: number = errorCode === ERROR_CODES.internal ? 500 : 400,
    /** Sandbox-only explanation, sent as `sandboxDetail` (Calypso sends no such field). */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'CalypsoError';
  }
}

export function badRequest(message: string): CalypsoError {
  return new CalypsoError(ERROR_CODES.badRequest, message);
}

export function notFound(message: string): CalypsoError {
  return new CalypsoError(ERROR_CODES.notFound, message);
}

/** Calypso's answer to any invalid mass payout content; `detail` says what was wrong. */
export function dealValidationFailed(detail: string): CalypsoError {
  return new CalypsoError(
    ERROR_CODES.dealRejected,
    'Can not create deal. Validation failed',
    400,
    detail,
  );
}

export function idempotencyKeyExists(key: string): CalypsoError {
  return new CalypsoError(ERROR_CODES.dealRejected, `IdempotencyKey ${key} already exists`);
}

/** A sandbox API used wrongly (bad fault options, unknown currency in a top-up...). */
export class SandboxUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxUsageError';
  }
}
