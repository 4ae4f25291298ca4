/**
 * The use cases' errors, in their own terms: what was refused and what the caller needs to act
 * on it (a stable code, one line for people, the detail, the fields at fault, when to ask again).
 * They know nothing of HTTP: shared/http/problem.ts gives each kind its status and problem+json,
 * in one place.
 */
import type { FieldError } from '../domain/payout-request.js';

export interface ErrorFacts {
  /** The fields at fault. */
  errors?: FieldError[];
  /** Further facts the caller acts on (the payout a key already names, what a limit leaves). */
  extra?: Record<string, string>;
  /** How long to wait before asking again, when asking again may succeed. */
  retryAfterSeconds?: number;
}

abstract class PayoutError extends Error {
  constructor(
    /** Stable and machine-readable: what a caller branches on. */
    readonly code: string,
    /** One line for people, the same for every error of the code. */
    readonly title: string,
    /** This occurrence, for people. */
    readonly detail: string,
    readonly facts: ErrorFacts = {},
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

/** The request's fields fail validation. */
export class InvalidRequest extends PayoutError {
  readonly kind = 'invalid-request';
  constructor(errors: FieldError[]) {
    super(
      'validation',
      'The request has invalid fields',
      `${errors.length} field${errors.length === 1 ? '' : 's'} failed validation`,
      { errors },
    );
  }
}

/** A parameter beside the request's fields (a header, a query parameter) is missing or wrong. */
export class InvalidParameter extends PayoutError {
  readonly kind = 'invalid-parameter';
  constructor(detail: string, errors: FieldError[]) {
    super('bad-request', 'Bad request', detail, { errors });
  }
}

/** No such thing, or nothing the caller may see: the two are never told apart. */
export class NotFound extends PayoutError {
  readonly kind = 'not-found';
  constructor(what: string) {
    super('not-found', 'Not found', `${what} does not exist`);
  }
}

/** The caller may not do this. */
export class Forbidden extends PayoutError {
  readonly kind = 'forbidden';
}

/** The thing's state does not allow it (now). */
export class Conflict extends PayoutError {
  readonly kind = 'conflict';
}

/** The payout still has payments in progress; it can be asked again once they are final. */
export class NotFinal extends PayoutError {
  readonly kind = 'not-final';
  constructor(detail: string, retryAfterSeconds: number) {
    super('not-final', 'The payout is not final yet', detail, { retryAfterSeconds });
  }
}

/** Understood, but a rule says no: a policy limit, a reused key, nothing to do. */
export class Refused extends PayoutError {
  readonly kind = 'refused';
}

/** Something we depend on could not answer; nothing was done, and asking again may succeed. */
export class Unavailable extends PayoutError {
  readonly kind = 'unavailable';
  constructor(code: string, title: string, detail: string, retryAfterSeconds: number) {
    super(code, title, detail, { retryAfterSeconds });
  }
}

/** Every error a use case throws in its own terms (anything else is a failure of ours). */
export type UseCaseError =
  | InvalidRequest
  | InvalidParameter
  | NotFound
  | Forbidden
  | Conflict
  | NotFinal
  | Refused
  | Unavailable;

export function isUseCaseError(error: unknown): error is UseCaseError {
  return error instanceof PayoutError;
}
