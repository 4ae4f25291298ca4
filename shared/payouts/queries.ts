/** Reading payouts and withdrawals for the API. */
import { EXTERNAL_ID_MAX } from '../domain/payout-request.js';
import { problems } from '../http/problem.js';
import { InvalidCursorError, type PayoutRepository } from '../store/payout-repository.js';
import type { CalypsoProvider } from './ports.js';
import { payoutView, withdrawalView } from './views.js';

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function parseLimit(raw: string | undefined, fallback = 100, max = 1000): number {
  if (raw === undefined) return fallback;
  if (!/^[1-9][0-9]{0,5}$/.test(raw) || Number(raw) > max) {
    throw problems.badRequest('limit is not valid', [
      { path: 'query:limit', message: `must be a whole number from 1 to ${max}` },
    ]);
  }
  return Number(raw);
}

function checkId(id: string | undefined): string {
  if (!id || !ID.test(id))
    throw problems.notFound(`payout ${JSON.stringify((id ?? '').slice(0, 64))}`);
  return id;
}

async function withCursor<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof InvalidCursorError) {
      throw problems.badRequest('cursor is not valid', [
        { path: 'query:cursor', message: 'is not a cursor returned by this listing' },
      ]);
    }
    throw err;
  }
}

export async function getPayout(repository: PayoutRepository, id: string | undefined) {
  const payoutId = checkId(id);
  const stored = await repository.getPayoutWithBatches(payoutId);
  if (!stored) throw problems.notFound(`payout ${payoutId}`);
  return payoutView(stored.payout, stored.batches);
}

export async function listPayoutWithdrawals(
  repository: PayoutRepository,
  id: string | undefined,
  query: { state?: string; limit?: string; cursor?: string },
) {
  const payoutId = checkId(id);
  const limit = parseLimit(query.limit);
  if (query.state !== undefined && !/^[A-Z_]{1,40}$/.test(query.state)) {
    throw problems.badRequest('state is not valid', [
      { path: 'query:state', message: 'must be a withdrawal state such as COMPLETED or FAILED' },
    ]);
  }
  if (!(await repository.getPayout(payoutId))) throw problems.notFound(`payout ${payoutId}`);
  const page = await withCursor(() =>
    repository.listWithdrawals(payoutId, {
      limit,
      ...(query.state ? { state: query.state } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
    }),
  );
  return { items: page.items.map(withdrawalView), cursor: page.cursor ?? null };
}

export async function findWithdrawals(
  repository: PayoutRepository,
  query: { externalId?: string; limit?: string; cursor?: string },
) {
  if (!query.externalId) {
    throw problems.badRequest('externalId is required', [
      { path: 'query:externalId', message: 'is required' },
    ]);
  }
  if (query.externalId.length > EXTERNAL_ID_MAX) {
    throw problems.badRequest('externalId is not valid', [
      { path: 'query:externalId', message: `must be at most ${EXTERNAL_ID_MAX} characters` },
    ]);
  }
  const limit = parseLimit(query.limit);
  const page = await withCursor(() =>
    repository.findWithdrawalsByExternalId(query.externalId!, {
      limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    }),
  );
  return { items: page.items.map(withdrawalView), cursor: page.cursor ?? null };
}

export async function getBalances(calypso: CalypsoProvider) {
  const account = await (await calypso()).getAccount();
  return {
    account: account.account,
    balances: account.balances.map((b) => ({ currency: b.currency, amount: b.amount.toString() })),
  };
}

export async function listPayoutEvents(
  repository: PayoutRepository,
  id: string | undefined,
  query: { limit?: string; cursor?: string },
) {
  const payoutId = checkId(id);
  const limit = parseLimit(query.limit);
  if (!(await repository.getPayout(payoutId))) throw problems.notFound(`payout ${payoutId}`);
  const page = await withCursor(() =>
    repository.listAudit(payoutId, { limit, ...(query.cursor ? { cursor: query.cursor } : {}) }),
  );
  return {
    items: page.items.map((e) => ({
      at: e.at,
      entity: e.entity,
      ref: e.ref ?? null,
      field: e.field,
      from: e.from,
      to: e.to,
      cause: e.cause,
      detail: e.detail ?? null,
    })),
    cursor: page.cursor ?? null,
  };
}
