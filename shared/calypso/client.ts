/**
 * The Calypso Pay client: signed envelopes, per-attempt timeouts, retries with backoff, a bound
 * on requests in flight, and lenient, exact parsing of the answers.
 *
 * Every request body is `{"timestamp":<ms>,"account":"…","payload":{…}}`, serialised once per
 * attempt; `Sign` is computed over that exact string and that same string is sent. A retry sends
 * the same payload (same idempotency key) with a fresh timestamp and signature.
 */
import type * as z from 'zod/mini';
import { CALYPSO_DEFAULTS as DEFAULTS } from '../defaults.js';
import type { Decimal } from '../domain/money.js';
import {
  CalypsoAuthError,
  CalypsoError,
  CalypsoUnknownOutcomeError,
  errorFromCalypsoBody,
  type CalypsoOperation,
} from './errors.js';
import { JsonNumberText, parseJsonLossless, stringifyForCalypso } from './json.js';
import {
  accountSchema,
  errorBodySchema,
  massPayoutSchema,
  singlePayoutSchema,
  webhookSubscriptionListSchema,
  webhookSubscriptionSchema,
  withdrawalPageSchema,
  type Account,
  type MassPayout,
  type SinglePayout,
  type WebhookSubscription,
  type Withdrawal,
  type WithdrawalPage,
} from './schemas.js';
import { sign } from './signing.js';

export interface CalypsoClientConfig {
  /** e.g. `https://api.calypso.finance`; differs between environments. */
  baseUrl: string;
  /** Default `/api/v1`. */
  pathPrefix?: string;
  /** Path of the withdrawal listing under the prefix. Default `/payout/withdrawal/all`. */
  withdrawalsPath?: string;
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
  /** Requests in flight at once through this client. Default 8. */
  maxConcurrency?: number;
  /** Index of the first page of a listing (undocumented by Calypso). Default 0. */
  firstPage?: number;
}

export interface CalypsoClientDeps {
  fetch?: typeof fetch;
  /** Unix time in milliseconds. */
  now?: () => number;
  /** Waits between attempts. */
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1), for the backoff's jitter. */
  random?: () => number;
}

/**
 * Every withdrawal state Calypso names. The guide: "you must specify states of payments you want
 * to get"; a listing without `stateNames` may be refused, so every listing sends these unless the
 * caller narrows them.
 */
export const ALL_WITHDRAWAL_STATE_NAMES: readonly string[] = Object.freeze([
  'DRAFT',
  'IN_PROGRESS',
  'COMPLETED',
  'REPLACED',
  'FAILED',
  'CANCELED',
]);

/**
 * Selects withdrawals: `dealId` (the mass payout's id) or `idempotencyKey` selects one payout's,
 * `externalId` alone selects across payouts, `stateNames` narrows by state (default: every
 * state, `ALL_WITHDRAWAL_STATE_NAMES`).
 */
export type WithdrawalFilter = {
  dealId?: string;
  idempotencyKey?: string;
  externalId?: string;
  stateNames?: string[];
};

export interface MassPayoutRecipient {
  depositAddress: string;
  amount: Decimal;
  externalId?: string;
}

export interface CreateMassPayoutInput {
  currency: string;
  name: string;
  comment?: string;
  /** Chosen by the caller (a UUID); the payout can be looked up by it. */
  idempotencyKey: string;
  /** ISO-8601 UTC; the payout is sent at that time. */
  executionDate?: string;
  massAddresses: MassPayoutRecipient[];
}

export interface CreatePayoutInput {
  currency: string;
  depositAddress: string;
  amount: Decimal;
  comment?: string;
  idempotencyKey: string;
  externalId?: string;
  /** ISO-8601 UTC; the payout is sent at that time. */
  executionDate?: string;
}

export interface CreateWebhookSubscriptionInput {
  /** A UUID naming the subscription; deleting it takes the same value. */
  requestId: string;
  url: string;
  /** Default `["PAYOUT"]` when no event types are given either. */
  notificationServiceTypes?: string[];
  notificationEventTypes?: string[];
}

export type PayoutLookup = { id: string } | { idempotencyKey: string };

export interface ListWithdrawalsOptions {
  /** Default 100. */
  pageSize?: number;
  /** A listing longer than this fails with `too-many-pages`. Default 1 000. */
  maxPages?: number;
}

/** Calls that change something at Calypso: for these a lost answer is an unknown outcome. */
const CHANGING_OPERATIONS: ReadonlySet<CalypsoOperation> = new Set<CalypsoOperation>([
  'createMassPayout',
  'createPayout',
  'createWebhookSubscription',
  'deleteWebhookSubscription',
]);

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

type Method = 'POST' | 'DELETE';

interface Request<T> {
  operation: CalypsoOperation;
  method: Method;
  path: string;
  payload?: Record<string, unknown>;
  /** Reads the answer; omitted when its body is not used. */
  schema?: ResponseSchema<T>;
}

type ResponseSchema<T> = Pick<z.ZodMiniType<T>, 'safeParse'>;

type AttemptResult<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      error: CalypsoError;
      /** The request may have taken effect. */ uncertain: boolean;
    };

export class CalypsoClient {
  private readonly baseUrl: string;
  private readonly prefix: string;
  private readonly withdrawalsPath: string;
  private readonly apiKey: string;
  private readonly secretKey: string;
  private readonly account: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly firstPage: number;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly slots: Semaphore;

  constructor(config: CalypsoClientConfig, deps: CalypsoClientDeps = {}) {
    this.baseUrl = checkBaseUrl(config.baseUrl);
    this.prefix = normalisePath(config.pathPrefix ?? DEFAULTS.pathPrefix);
    this.withdrawalsPath = normalisePath(config.withdrawalsPath ?? DEFAULTS.withdrawalsPath);
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
    this.firstPage = wholeNumber(config.firstPage ?? DEFAULTS.firstPage, 'firstPage');
    this.slots = new Semaphore(
      positiveInt(config.maxConcurrency ?? DEFAULTS.maxConcurrency, 'maxConcurrency'),
    );
    this.fetch = deps.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = deps.random ?? Math.random;
  }

  /** `POST {prefix}/payout/mass/create`. A `016 … already exists` or an unknown outcome is resolved by `getMassPayout({ idempotencyKey })`. */
  async createMassPayout(input: CreateMassPayoutInput): Promise<MassPayout> {
    if (input.massAddresses.length === 0) throw new RangeError('massAddresses is empty');
    for (const [index, recipient] of input.massAddresses.entries()) {
      if (!recipient.amount.isPositive()) {
        throw new RangeError(`massAddresses[${index}].amount must be greater than 0`);
      }
    }
    return this.call({
      operation: 'createMassPayout',
      method: 'POST',
      path: '/payout/mass/create',
      payload: {
        currency: input.currency,
        name: input.name,
        comment: input.comment,
        idempotencyKey: nonEmpty(input.idempotencyKey, 'idempotencyKey'),
        executionDate: input.executionDate,
        massAddresses: input.massAddresses.map((recipient) => ({
          depositAddress: recipient.depositAddress,
          amount: recipient.amount,
          externalId: recipient.externalId,
        })),
      },
      schema: massPayoutSchema,
    });
  }

  /** `POST {prefix}/payout/mass` with `{id}` or `{idempotencyKey}`. */
  async getMassPayout(by: PayoutLookup): Promise<MassPayout> {
    return this.call({
      operation: 'getMassPayout',
      method: 'POST',
      path: '/payout/mass',
      payload: lookupPayload(by),
      schema: massPayoutSchema,
    });
  }

  /** One page of withdrawals; `page` is sent as given (see `firstPage`). */
  async listWithdrawalsPage(
    filter: WithdrawalFilter,
    page: number,
    size: number,
  ): Promise<WithdrawalPage> {
    return this.call({
      operation: 'listWithdrawals',
      method: 'POST',
      path: this.withdrawalsPath,
      payload: {
        dealId: filter.dealId === undefined ? undefined : idValue(filter.dealId),
        idempotencyKey: filter.idempotencyKey,
        externalId: filter.externalId,
        stateNames: stateNamesOf(filter),
        page: wholeNumber(page, 'page'),
        size: positiveInt(size, 'size'),
      },
      schema: withdrawalPageSchema,
    });
  }

  /**
   * Every withdrawal matching the filter: pages from `firstPage` until `totalElements`
   * withdrawals are read or a page comes back short (fewer items than the page size), whichever
   * comes first. A `totalElements` that is missing, or below what was already read (the guide's
   * own example answers 0 beside two withdrawals), is not believed: then only a short page ends
   * the listing. A withdrawal seen on two pages (the list moved while it was read) appears once,
   * as last seen. Withdrawals are created asynchronously after their payout, so the list may
   * still be incomplete.
   */
  async listWithdrawals(
    filter: WithdrawalFilter,
    options: ListWithdrawalsOptions = {},
  ): Promise<Withdrawal[]> {
    const size = positiveInt(options.pageSize ?? DEFAULTS.pageSize, 'pageSize');
    const maxPages = positiveInt(options.maxPages ?? DEFAULTS.maxPages, 'maxPages');
    const byId = new Map<string, Withdrawal>();
    for (let index = 0; index < maxPages; index += 1) {
      const page = await this.listWithdrawalsPage(filter, this.firstPage + index, size);
      for (const withdrawal of page.result) byId.set(withdrawal.id, withdrawal);
      // A server that caps the page size says so in `size`: a page that full is not short.
      const fullPage = page.size !== undefined && page.size > 0 ? Math.min(size, page.size) : size;
      if (page.result.length === 0 || page.result.length < fullPage) return [...byId.values()];
      if (page.totalElements !== undefined && byId.size === page.totalElements) {
        return [...byId.values()];
      }
    }
    throw new CalypsoError({
      errorCode: 'too-many-pages',
      message: `the listing did not end within ${maxPages} pages of ${size}`,
      operation: 'listWithdrawals',
      retryable: false,
    });
  }

  /** `POST {prefix}/payout/create`: one recipient. */
  async createPayout(input: CreatePayoutInput): Promise<SinglePayout> {
    if (!input.amount.isPositive()) throw new RangeError('amount must be greater than 0');
    return this.call({
      operation: 'createPayout',
      method: 'POST',
      path: '/payout/create',
      payload: {
        currency: input.currency,
        depositAddress: input.depositAddress,
        amount: input.amount,
        comment: input.comment,
        idempotencyKey: nonEmpty(input.idempotencyKey, 'idempotencyKey'),
        externalId: input.externalId,
        executionDate: input.executionDate,
      },
      schema: singlePayoutSchema,
    });
  }

  /** `POST {prefix}/payout` with `{id}` or `{idempotencyKey}`. */
  async getPayout(by: PayoutLookup): Promise<SinglePayout> {
    return this.call({
      operation: 'getPayout',
      method: 'POST',
      path: '/payout',
      payload: lookupPayload(by),
      schema: singlePayoutSchema,
    });
  }

  /** `POST {prefix}/account`: the merchant account and its balances. */
  async getAccount(): Promise<Account> {
    return this.call({
      operation: 'getAccount',
      method: 'POST',
      path: '/account',
      schema: accountSchema,
    });
  }

  /** `POST {prefix}/subscription/webhook/create`. The answer carries the subscription's keys. */
  async createWebhookSubscription(
    input: CreateWebhookSubscriptionInput,
  ): Promise<WebhookSubscription> {
    const byService =
      input.notificationServiceTypes ??
      (input.notificationEventTypes === undefined ? ['PAYOUT'] : undefined);
    const requestId = nonEmpty(input.requestId, 'requestId');
    return this.call({
      operation: 'createWebhookSubscription',
      method: 'POST',
      path: '/subscription/webhook/create',
      payload: {
        requestId,
        notificationServiceTypes: byService,
        notificationEventTypes: input.notificationEventTypes,
        url: input.url,
      },
      schema: createdSubscriptionSchema(requestId),
    });
  }

  /** `POST {prefix}/subscription/webhook`. */
  async listWebhookSubscriptions(): Promise<WebhookSubscription[]> {
    return this.call({
      operation: 'listWebhookSubscriptions',
      method: 'POST',
      path: '/subscription/webhook',
      schema: webhookSubscriptionListSchema,
    });
  }

  /** `DELETE {prefix}/subscription/webhook` with `{requestId}`. */
  async deleteWebhookSubscription(requestId: string): Promise<void> {
    await this.call<undefined>({
      operation: 'deleteWebhookSubscription',
      method: 'DELETE',
      path: '/subscription/webhook',
      payload: { requestId: nonEmpty(requestId, 'requestId') },
    });
  }

  /**
   * Runs attempts until one settles the call. Retried: network errors, timeouts, 5xx, 429 and
   * `000`, after `Retry-After` when given, else after a full-jitter backoff. When every attempt
   * failed and one of them may have taken effect, a changing call ends in
   * CalypsoUnknownOutcomeError; otherwise the last attempt's error is thrown, marked
   * `afterUncertainAttempt` when an earlier attempt may have taken effect.
   */
  private async call<T>(request: Request<T>): Promise<T> {
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
    if (last.retryable && uncertain && CHANGING_OPERATIONS.has(request.operation)) {
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

  private async attempt<T>(request: Request<T>): Promise<AttemptResult<T>> {
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
          method: request.method,
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
    request: Request<T>,
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
      if (request.schema === undefined) {
        const error = calypsoError();
        return error
          ? { ok: false, error, uncertain: mayHaveActed(error, status) }
          : { ok: true, value: undefined as T };
      }
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

/** The create answer may leave out the requestId it was given: fill it in from the request. */
function createdSubscriptionSchema(requestId: string): ResponseSchema<WebhookSubscription> {
  return {
    safeParse: (value: unknown) =>
      webhookSubscriptionSchema.safeParse(
        isObject(value) && (value.requestId === undefined || value.requestId === null)
          ? { ...value, requestId }
          : value,
      ),
  };
}

/** The states a listing asks for: the caller's, or every state. Never none (Calypso refuses it). */
function stateNamesOf(filter: WithdrawalFilter): readonly string[] {
  if (filter.stateNames === undefined) return ALL_WITHDRAWAL_STATE_NAMES;
  if (filter.stateNames.length === 0) {
    throw new RangeError('CalypsoClient: stateNames must name at least one state');
  }
  return filter.stateNames;
}

/** Ids Calypso sent as numbers go back as numbers; anything else as a string. */
function idValue(id: string): string | JsonNumberText {
  return /^(0|[1-9][0-9]{0,39})$/.test(id) ? new JsonNumberText(id) : id;
}

function lookupPayload(by: PayoutLookup): Record<string, unknown> {
  return 'id' in by
    ? { id: idValue(nonEmpty(by.id, 'id')) }
    : { idempotencyKey: nonEmpty(by.idempotencyKey, 'idempotencyKey') };
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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

function normalisePath(path: string): string {
  const trimmed = path.trim().replace(/\/+$/, '');
  return trimmed === '' || trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function nonEmpty(value: string, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`CalypsoClient: ${name} is required`);
  }
  return value;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`CalypsoClient: ${name} must be a whole number ≥ 1`);
  }
  return value;
}

function wholeNumber(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`CalypsoClient: ${name} must be a whole number ≥ 0`);
  }
  return value;
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
