/**
 * The Calypso Pay endpoints the service calls: what each sends, where, and how its answer reads,
 * on top of the signed transport (transport.ts: envelope, signing, timeouts, retries, the bound
 * on requests in flight). Amounts go out as exact JSON numbers and come back as `Decimal`; a
 * withdrawal listing is read page by page until it ends.
 */
import type { Decimal } from '../domain/money.js';
import { CALYPSO_DEFAULTS as DEFAULTS } from '../defaults.js';
import { isObject, nonEmpty, normalisePath, positiveInt, wholeNumber } from './checks.js';
import { CalypsoError } from './errors.js';
import { JsonNumberText } from './json.js';
import {
  accountSchema,
  massPayoutSchema,
  singlePayoutSchema,
  webhookSubscriptionSchema,
  withdrawalPageSchema,
  type Account,
  type MassPayout,
  type SinglePayout,
  type WebhookSubscription,
  type Withdrawal,
  type WithdrawalPage,
} from './schemas.js';
import {
  CalypsoTransport,
  type CalypsoTransportConfig,
  type CalypsoTransportDeps,
  type ResponseSchema,
} from './transport.js';

export interface CalypsoClientConfig extends CalypsoTransportConfig {
  /** Path of the withdrawal listing under the prefix. Default `/payout/withdrawal/all`. */
  withdrawalsPath?: string;
  /** Index of the first page of a listing (undocumented by Calypso). Default 0. */
  firstPage?: number;
}

export type CalypsoClientDeps = CalypsoTransportDeps;
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
  /** A UUID naming the subscription; deleting it (in Calypso) takes the same value. */
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

export class CalypsoClient {
  private readonly transport: CalypsoTransport;
  private readonly withdrawalsPath: string;
  private readonly firstPage: number;

  constructor(config: CalypsoClientConfig, deps: CalypsoClientDeps = {}) {
    this.transport = new CalypsoTransport(config, deps);
    this.withdrawalsPath = normalisePath(config.withdrawalsPath ?? DEFAULTS.withdrawalsPath);
    this.firstPage = wholeNumber(config.firstPage ?? DEFAULTS.firstPage, 'firstPage');
  }

  /** `POST {prefix}/payout/mass/create`. A `016 … already exists` or an unknown outcome is resolved by `getMassPayout({ idempotencyKey })`. */
  async createMassPayout(input: CreateMassPayoutInput): Promise<MassPayout> {
    if (input.massAddresses.length === 0) throw new RangeError('massAddresses is empty');
    for (const [index, recipient] of input.massAddresses.entries()) {
      if (!recipient.amount.isPositive()) {
        throw new RangeError(`massAddresses[${index}].amount must be greater than 0`);
      }
    }
    return this.transport.call({
      operation: 'createMassPayout',
      changes: true,
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
    return this.transport.call({
      operation: 'getMassPayout',
      changes: false,
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
    return this.transport.call({
      operation: 'listWithdrawals',
      changes: false,
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
    return this.transport.call({
      operation: 'createPayout',
      changes: true,
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
    return this.transport.call({
      operation: 'getPayout',
      changes: false,
      path: '/payout',
      payload: lookupPayload(by),
      schema: singlePayoutSchema,
    });
  }

  /** `POST {prefix}/account`: the merchant account and its balances. */
  async getAccount(): Promise<Account> {
    return this.transport.call({
      operation: 'getAccount',
      changes: false,
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
    return this.transport.call({
      operation: 'createWebhookSubscription',
      changes: true,
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
