/**
 * The Calypso operations the project uses (calypso-api.md §3-§5): what each one accepts, what it
 * refuses, and what it answers. Paths are relative to the configured prefix.
 */
import type { CurrencyRegistry } from '../../../shared/domain/currencies.js';
import { Decimal } from '../../../shared/domain/money.js';
import type { SandboxClock } from './clock.js';
import {
  CalypsoError,
  ERROR_CODES,
  badRequest,
  dealValidationFailed,
  idempotencyKeyExists,
  notFound,
} from './errors.js';
import { isoDate, type IdFactory } from './ids.js';
import type { JsonObject } from './json.js';
import type { PayoutEngine } from './lifecycle.js';
import { Fields } from './payload.js';
import {
  WITHDRAWAL_STATES,
  type AccountState,
  type Deal,
  type Recipient,
  type SandboxStore,
  type Subscription,
  type Withdrawal,
} from './store.js';
import type { SandboxOperation } from './types.js';

export interface CalypsoRoute {
  operation: SandboxOperation;
  method: 'POST' | 'DELETE';
  path: string;
  /** Whether the envelope carries a `payload` (calls without input send only timestamp/account). */
  takesPayload: boolean;
  /** The response body (`Decimal` values become exact JSON numbers); undefined: empty body. */
  handle(account: AccountState, payload: JsonObject | undefined): unknown;
}

export interface CalypsoApiDeps {
  store: SandboxStore;
  engine: PayoutEngine;
  ids: IdFactory;
  clock: SandboxClock;
  currencies: CurrencyRegistry;
  withdrawalsPath: string;
  /** The index of the first page of a listing: 0 or 1. */
  firstPage: 0 | 1;
}

const MAX_PAGE_SIZE = 1000;
const DEFAULT_PAGE_SIZE = 20;
/** Addresses are checked for shape only: no spaces, a sane length. */
const ADDRESS = /^\S{1,128}$/;
const SERVICE_TYPES = ['INVOICE', 'PAYOUT', 'RECURRENT'];

export function calypsoRoutes(deps: CalypsoApiDeps): CalypsoRoute[] {
  const withdrawalPaths = [...new Set([deps.withdrawalsPath, '/payout/withdrawal/find'])];
  return [
    {
      operation: 'createMassPayout',
      method: 'POST',
      path: '/payout/mass/create',
      takesPayload: true,
      handle: (account, payload) =>
        massPayoutView(createMassPayout(deps, account, payload!), account),
    },
    {
      operation: 'getMassPayout',
      method: 'POST',
      path: '/payout/mass',
      takesPayload: true,
      handle: (account, payload) =>
        massPayoutView(findDeal(deps, account, 'mass', payload!), account),
    },
    ...withdrawalPaths.map((path): CalypsoRoute => ({
      operation: 'listWithdrawals',
      method: 'POST',
      path,
      takesPayload: true,
      handle: (account, payload) => listWithdrawals(deps, account, payload!),
    })),
    {
      operation: 'createPayout',
      method: 'POST',
      path: '/payout/create',
      takesPayload: true,
      handle: (account, payload) => payoutView(createPayout(deps, account, payload!), account),
    },
    {
      operation: 'getPayout',
      method: 'POST',
      path: '/payout',
      takesPayload: true,
      handle: (account, payload) =>
        payoutView(findDeal(deps, account, 'single', payload!), account),
    },
    {
      operation: 'getAccount',
      method: 'POST',
      path: '/account',
      takesPayload: false,
      handle: (account) => accountView(deps, account),
    },
    {
      operation: 'createWebhook',
      method: 'POST',
      path: '/subscription/webhook/create',
      takesPayload: true,
      handle: (account, payload) => subscriptionView(createSubscription(deps, account, payload!)),
    },
    {
      operation: 'listWebhooks',
      method: 'POST',
      path: '/subscription/webhook',
      takesPayload: false,
      handle: (account) => ({
        subscriptions: [...deps.store.subscriptions.values()]
          .filter((s) => s.account === account.account)
          .map(subscriptionView),
      }),
    },
    {
      operation: 'deleteWebhook',
      method: 'DELETE',
      path: '/subscription/webhook',
      takesPayload: true,
      handle: (account, payload) => {
        const requestId = Fields.of(payload, 'payload')
          .only('requestId')
          .requiredString('requestId');
        const subscription = deps.store.subscriptions.get(requestId);
        if (!subscription || subscription.account !== account.account) {
          throw notFound(`Webhook subscription ${requestId} not found`);
        }
        deps.store.subscriptions.delete(requestId);
        return undefined;
      },
    },
  ];
}

// ---- mass payouts --------------------------------------------------------------------------

function createMassPayout(deps: CalypsoApiDeps, account: AccountState, payload: JsonObject): Deal {
  const fields = Fields.of(payload, 'payload').only(
    'currency',
    'name',
    'comment',
    'idempotencyKey',
    'massAddresses',
    'executionDate',
  );
  const idempotencyKey = fields.requiredUuid('idempotencyKey');
  const currencyCode = fields.requiredString('currency', 40);
  const name = fields.optionalString('name');
  const comment = fields.optionalString('comment');
  const executionDate = readExecutionDate(fields);
  const items = fields.requiredArray('massAddresses').map((item, i) => {
    const entry = Fields.of(item, `payload.massAddresses[${i}]`).only(
      'depositAddress',
      'amount',
      'externalId',
    );
    return {
      path: `massAddresses[${i}]`,
      depositAddress: entry.requiredString('depositAddress', 200),
      amountText: entry.requiredNumber('amount').text,
      externalId: entry.optionalString('externalId', 200),
    };
  });

  // The key is unique whatever the content: a retry of a committed create is refused as such.
  if (deps.store.dealByKey(account.account, 'mass', idempotencyKey)) {
    throw idempotencyKeyExists(idempotencyKey);
  }

  const currency = deps.currencies.get(currencyCode);
  if (!currency) throw dealValidationFailed(`unknown currency ${currencyCode}`);
  refusePastDate(deps, executionDate);
  if (items.length === 0) throw dealValidationFailed('massAddresses is empty');
  if (items.length > currency.massPayoutLimit) {
    throw dealValidationFailed(
      `${items.length} recipients; at most ${currency.massPayoutLimit} for ${currency.code}`,
    );
  }
  const recipients: Recipient[] = items.map((item) => ({
    depositAddress: checkAddress(item.depositAddress, item.path),
    amount: checkAmount(item.amountText, currency.decimals, item.path),
    ...(item.externalId !== undefined ? { externalId: item.externalId } : {}),
  }));

  return deps.engine.create({
    kind: 'mass',
    account: account.account,
    idempotencyKey,
    currency,
    name,
    comment,
    executionDate,
    recipients,
  });
}

function massPayoutView(deal: Deal, account: AccountState): JsonObject {
  return {
    id: deal.id,
    idempotencyKey: deal.idempotencyKey,
    companyId: account.companyId,
    state: deal.state,
    comment: deal.comment ?? null,
    name: deal.name ?? null,
    currency: deal.currency,
    totalCalypsoFee: deal.totalCalypsoFee,
    totalCalypsoFeePercentage: deal.calypsoFeePercentage,
    createdDate: isoDate(deal.createdAt),
    executionDate: deal.executionDate === undefined ? null : isoDate(deal.executionDate),
  };
}

function findDeal(
  deps: CalypsoApiDeps,
  account: AccountState,
  kind: Deal['kind'],
  payload: JsonObject,
): Deal {
  const fields = Fields.of(payload, 'payload').only('id', 'idempotencyKey');
  const id = fields.optionalId('id');
  const idempotencyKey = fields.optionalString('idempotencyKey', 100);
  if (id === undefined && idempotencyKey === undefined) {
    throw badRequest('payload needs id or idempotencyKey');
  }
  const byId = id === undefined ? undefined : deps.store.deals.get(id);
  const byKey =
    idempotencyKey === undefined
      ? undefined
      : deps.store.dealByKey(account.account, kind, idempotencyKey);
  const deal = id !== undefined ? byId : byKey;
  const consistent = id === undefined || idempotencyKey === undefined || byId === byKey;
  if (!deal || !consistent || deal.kind !== kind || deal.account !== account.account) {
    throw notFound(`${kind === 'mass' ? 'Mass payout' : 'Payout'} not found`);
  }
  return deal;
}

function listWithdrawals(deps: CalypsoApiDeps, account: AccountState, payload: JsonObject) {
  const fields = Fields.of(payload, 'payload').only(
    'dealId',
    'idempotencyKey',
    'externalId',
    'stateNames',
    'page',
    'size',
  );
  const dealId = fields.optionalId('dealId');
  const idempotencyKey = fields.optionalString('idempotencyKey', 100);
  const externalId = fields.optionalString('externalId', 200);
  // The guide: "you must specify states of payments you want to get".
  const stateNames = fields.optionalStringArray('stateNames');
  if (stateNames === undefined) throw badRequest('payload.stateNames is required');
  if (stateNames.length === 0) throw badRequest('payload.stateNames must name a state');
  for (const state of stateNames) {
    if (!(WITHDRAWAL_STATES as readonly string[]).includes(state)) {
      throw badRequest(`payload.stateNames: unknown state ${state}`);
    }
  }
  const { firstPage } = deps;
  const page = fields.optionalInteger('page', firstPage, 1_000_000) ?? firstPage;
  const size = fields.optionalInteger('size', 1, MAX_PAGE_SIZE) ?? DEFAULT_PAGE_SIZE;

  // dealId and idempotencyKey select a payout (both: the same one); externalId alone searches
  // every payout of the account.
  let dealIds: Set<string> | undefined;
  if (dealId !== undefined) dealIds = new Set([dealId]);
  if (idempotencyKey !== undefined) {
    const ids = [...deps.store.deals.values()]
      .filter((d) => d.account === account.account && d.idempotencyKey === idempotencyKey)
      .map((d) => d.id);
    dealIds = new Set(ids.filter((id) => dealIds === undefined || dealIds.has(id)));
  }
  const matching = deps.store.withdrawals.filter(
    (w) =>
      w.account === account.account &&
      (dealIds === undefined || dealIds.has(w.dealId)) &&
      (externalId === undefined || w.externalId === externalId) &&
      stateNames.includes(w.state),
  );
  const skip = (page - firstPage) * size;
  const result = matching.slice(skip, skip + size);
  return {
    result: result.map((w) => withdrawalView(w, account)),
    page,
    size,
    /** Number of pages. */
    total: Math.ceil(matching.length / size),
    totalElements: matching.length,
  };
}

function withdrawalView(withdrawal: Withdrawal, account: AccountState): JsonObject {
  return {
    id: withdrawal.id,
    account: account.account,
    companyName: account.companyName,
    amount: withdrawal.amount,
    currency: withdrawal.currency,
    state: withdrawal.state,
    calypsoFee: withdrawal.calypsoFee,
    transactionHash: withdrawal.transactionHash,
    depositAddress: withdrawal.depositAddress,
    comment: withdrawal.comment ?? null,
    createdDate: isoDate(withdrawal.createdAt),
    withdrawalErrors: withdrawal.errors.map((e) => ({ ...e })),
    ...(withdrawal.externalId !== undefined ? { externalId: withdrawal.externalId } : {}),
  };
}

// ---- single payouts ------------------------------------------------------------------------

function createPayout(deps: CalypsoApiDeps, account: AccountState, payload: JsonObject): Deal {
  const fields = Fields.of(payload, 'payload').only(
    'depositAddress',
    'amount',
    'currency',
    'comment',
    'idempotencyKey',
    'externalId',
    'executionDate',
  );
  const idempotencyKey = fields.requiredUuid('idempotencyKey');
  const depositAddress = fields.requiredString('depositAddress', 200);
  const amountText = fields.requiredNumber('amount').text;
  const currencyCode = fields.requiredString('currency', 40);
  const comment = fields.optionalString('comment');
  const externalId = fields.optionalString('externalId', 200);
  const executionDate = readExecutionDate(fields);

  if (deps.store.dealByKey(account.account, 'single', idempotencyKey)) {
    throw idempotencyKeyExists(idempotencyKey);
  }
  const currency = deps.currencies.get(currencyCode);
  if (!currency) throw dealValidationFailed(`unknown currency ${currencyCode}`);
  refusePastDate(deps, executionDate);
  return deps.engine.create({
    kind: 'single',
    account: account.account,
    idempotencyKey,
    currency,
    comment,
    executionDate,
    recipients: [
      {
        depositAddress: checkAddress(depositAddress, 'depositAddress'),
        amount: checkAmount(amountText, currency.decimals, 'amount'),
        ...(externalId !== undefined ? { externalId } : {}),
      },
    ],
  });
}

function payoutView(deal: Deal, account: AccountState): JsonObject {
  const recipient = deal.recipients[0]!;
  // The payment as it stands: the latest replacement, if it was replaced.
  const withdrawal = deal.withdrawals.at(-1);
  return {
    id: deal.id,
    account: account.account,
    depositAddress: recipient.depositAddress,
    amount: recipient.amount,
    currency: deal.currency,
    calypsoFee: deal.totalCalypsoFee,
    calypsoFeePercentage: deal.calypsoFeePercentage,
    state: deal.state,
    createdDate: isoDate(deal.createdAt),
    transactionHash: withdrawal?.transactionHash ?? null,
    comment: deal.comment ?? null,
    executionDate: deal.executionDate === undefined ? null : isoDate(deal.executionDate),
    idempotencyKey: deal.idempotencyKey,
    ...(recipient.externalId !== undefined ? { externalId: recipient.externalId } : {}),
    errors: {
      withdrawalErrors: withdrawal
        ? [{ withdrawalId: withdrawal.id, errors: withdrawal.errors.map((e) => ({ ...e })) }]
        : [],
    },
  };
}

// ---- account -------------------------------------------------------------------------------

function accountView(deps: CalypsoApiDeps, account: AccountState): JsonObject {
  return {
    account: account.account,
    name: account.name,
    ownerId: account.ownerId,
    balances: deps.currencies.codes().map((currency) => ({
      currency,
      amount: (account.balances.get(currency) ?? Decimal.ZERO).normalize(),
    })),
  };
}

// ---- webhook subscriptions -----------------------------------------------------------------

function createSubscription(
  deps: CalypsoApiDeps,
  account: AccountState,
  payload: JsonObject,
): Subscription {
  const fields = Fields.of(payload, 'payload').only(
    'requestId',
    'notificationEventTypes',
    'notificationServiceTypes',
    'url',
  );
  const requestId = fields.requiredUuid('requestId');
  const url = fields.requiredString('url', 2000);
  const eventTypes = fields.optionalStringArray('notificationEventTypes') ?? [];
  const serviceTypes = fields.optionalStringArray('notificationServiceTypes') ?? [];
  if (eventTypes.length === 0 && serviceTypes.length === 0) {
    throw badRequest('payload needs notificationEventTypes or notificationServiceTypes');
  }
  for (const type of eventTypes) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(type)) throw badRequest(`unknown event type ${type}`);
  }
  for (const type of serviceTypes) {
    if (!SERVICE_TYPES.includes(type)) throw badRequest(`unknown service type ${type}`);
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw badRequest('payload.url must be an http(s) URL');
  }
  if (deps.store.subscriptions.has(requestId)) {
    throw new CalypsoError(ERROR_CODES.badRequest, `Subscription ${requestId} already exists`);
  }
  const subscription: Subscription = {
    requestId,
    account: account.account,
    url,
    notificationEventTypes: eventTypes,
    notificationServiceTypes: serviceTypes,
    publicKey: deps.ids.key(),
    secretKey: deps.ids.key(),
    createdAt: deps.clock.now(),
    recentFailures: [],
    blocked: false,
  };
  deps.store.subscriptions.set(requestId, subscription);
  return subscription;
}

function subscriptionView(subscription: Subscription): JsonObject {
  return {
    requestId: subscription.requestId,
    notificationEventTypes: subscription.notificationEventTypes,
    notificationServiceTypes: subscription.notificationServiceTypes,
    url: subscription.url,
    publicKey: subscription.publicKey,
    secretKey: subscription.secretKey,
    createdDate: isoDate(subscription.createdAt),
  };
}

// ---- shared checks -------------------------------------------------------------------------

/** A positive plain decimal with no more significant decimals than the currency has. */
function checkAmount(text: string, decimals: number, path: string): Decimal {
  const amount = Decimal.tryParse(text);
  if (!amount) throw dealValidationFailed(`${path}.amount ${text} is not a plain decimal`);
  if (!amount.isPositive()) throw dealValidationFailed(`${path}.amount must be greater than 0`);
  if (amount.significantScale() > decimals) {
    throw dealValidationFailed(`${path}.amount has more than ${decimals} decimals`);
  }
  return amount;
}

function checkAddress(address: string, path: string): string {
  if (!ADDRESS.test(address)) throw dealValidationFailed(`${path}.depositAddress is not valid`);
  return address;
}

/**
 * A payout scheduled in the past is refused: the guide does not say what Calypso does with one,
 * and the strict reading keeps a client from ever relying on it.
 */
function refusePastDate(deps: CalypsoApiDeps, executionDate: number | undefined): void {
  if (executionDate !== undefined && executionDate <= deps.clock.now()) {
    throw dealValidationFailed('executionDate is in the past');
  }
}

/** ISO-8601 with a zone (`Z` or an offset), e.g. `2025-07-01T12:00:00Z`. */
function readExecutionDate(fields: Fields): number | undefined {
  const text = fields.optionalString('executionDate', 40);
  if (text === undefined) return undefined;
  const valid = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(
    text,
  );
  const millis = valid ? Date.parse(text) : NaN;
  if (Number.isNaN(millis)) {
    throw badRequest(`${fields.at('executionDate')} must be an ISO-8601 date-time with a zone`);
  }
  return millis;
}
