/**
 * Defaults that more than one part of the project must agree on, in one place: the functions'
 * configuration (config.ts), the Calypso client, the stack (infra/) and the local Calypso
 * sandbox read them from here, so a default cannot differ between them.
 */

/** Calypso's API as the client reaches it when configuration says nothing else. */
export const CALYPSO_DEFAULTS = {
  /** The reference's prefix; one old guide example uses `/api/v1/pub` (calypso-api.md §1). */
  pathPrefix: '/api/v1',
  /** The withdrawal listing under the prefix; the guide's example also shows `/payout/withdrawal/find`. */
  withdrawalsPath: '/payout/withdrawal/all',
  /** The index of a listing's first page: undocumented (the guide's example answers 1). */
  firstPage: 0,
  /** Per attempt, reading the answer included. */
  timeoutMs: 10_000,
  /** Attempts per call, the first included. */
  maxAttempts: 4,
  /** Backoff before the second attempt, doubled each time, then full jitter. */
  baseDelayMs: 250,
  /** Ceiling of the backoff. */
  maxDelayMs: 5_000,
  /** A longer `Retry-After` is not waited for: the call fails at once, retryable. */
  maxRetryAfterMs: 60_000,
  /** Requests in flight at once through one client. */
  maxConcurrency: 8,
  /** Withdrawals asked for per listing page. */
  pageSize: 100,
  /** A listing longer than this many pages fails with `too-many-pages`. */
  maxPages: 1_000,
} as const;

/** The service's own limits and leases. */
export const SERVICE_DEFAULTS = {
  /**
   * Largest request body the create handler accepts (MAX_BODY_BYTES). API Gateway REST caps
   * bodies at 10 MB and a synchronous Lambda invoke at 6 MB of event JSON: well under both.
   */
  maxBodyBytes: 5_000_000,
  /**
   * Submission lease (SUBMISSION_LEASE_MS): a batch being submitted is not taken over before it
   * runs out, so every function that submits must time out well before it.
   */
  submissionLeaseMs: 300_000,
  /**
   * The create handler's idempotency write lease: a second request with the same key waits this
   * long before it finishes the first one's work; API functions time out well before it.
   */
  createWriteLeaseMs: 60_000,
} as const;
