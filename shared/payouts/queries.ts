/**
 * Reading payouts and withdrawals for the API. Every read is scoped by owner: a caller who neither
 * owns a payout nor audits gets the same NotFound as for a payout that does not exist.
 */
import type { AccessPolicy, Caller } from '../domain/identity.js';
import { UUID_PATTERN } from '../domain/ids.js';
import { PAYOUT_STATES } from '../domain/payout.js';
import { EXTERNAL_ID_MAX, parseDateTime } from '../domain/request-fields.js';
import type { AuditStore } from '../store/audit-store.js';
import type { ControlStore } from '../store/controls-store.js';
import type { PayoutStore } from '../store/payouts-store.js';
import { InvalidCursorError } from '../store/table-client.js';
import type { WithdrawalStore } from '../store/withdrawals-store.js';
import { InvalidParameter, NotFound } from './errors.js';
import type { CalypsoProvider } from './ports.js';
import type {
  BalancesView,
  PayoutEventPage,
  PayoutSummaryPage,
  PayoutView,
  WithdrawalPage,
} from './schemas.js';
import { payoutSummaryView, payoutView, withdrawalView } from './views.js';

export function parseLimit(raw: string | undefined, fallback = 100, max = 1000): number {
  if (raw === undefined) return fallback;
  if (!/^[1-9][0-9]{0,5}$/.test(raw) || Number(raw) > max) {
    throw new InvalidParameter('limit is not valid', [
      { path: 'query:limit', message: `must be a whole number from 1 to ${max}` },
    ]);
  }
  return Number(raw);
}

export function checkId(id: string | undefined): string {
  if (!id || !UUID_PATTERN.test(id))
    throw new NotFound(`payout ${JSON.stringify((id ?? '').slice(0, 64))}`);
  return id;
}

/** Runs a listing, refusing a cursor this listing did not hand out. */
export async function withCursor<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof InvalidCursorError) {
      throw new InvalidParameter('cursor is not valid', [
        { path: 'query:cursor', message: 'is not a cursor returned by this listing' },
      ]);
    }
    throw err;
  }
}

export interface ReadDeps {
  repository: PayoutStore & WithdrawalStore & AuditStore & Pick<ControlStore, 'getPause'>;
  access: AccessPolicy;
}

/** The payout, if it exists and the caller may read it; else the same NotFound either way. */
async function readablePayout(deps: ReadDeps, caller: Caller, payoutId: string) {
  const payout = await deps.repository.getPayout(payoutId);
  if (!payout || !deps.access.mayRead(caller, payout.owner))
    throw new NotFound(`payout ${payoutId}`);
  return payout;
}

export async function getPayout(
  deps: ReadDeps,
  caller: Caller,
  id: string | undefined,
): Promise<PayoutView> {
  const payoutId = checkId(id);
  const stored = await deps.repository.getPayoutWithBatches(payoutId);
  if (!stored || !deps.access.mayRead(caller, stored.payout.owner))
    throw new NotFound(`payout ${payoutId}`);
  return payoutView(stored.payout, stored.batches, await deps.repository.getPause());
}

export async function listPayoutWithdrawals(
  deps: ReadDeps,
  caller: Caller,
  id: string | undefined,
  query: { state?: string; limit?: string; cursor?: string },
): Promise<WithdrawalPage> {
  const payoutId = checkId(id);
  const limit = parseLimit(query.limit);
  if (query.state !== undefined && !/^[A-Z_]{1,40}$/.test(query.state)) {
    throw new InvalidParameter('state is not valid', [
      { path: 'query:state', message: 'must be a withdrawal state such as COMPLETED or FAILED' },
    ]);
  }
  await readablePayout(deps, caller, payoutId);
  const page = await withCursor(() =>
    deps.repository.listWithdrawals(payoutId, {
      limit,
      ...(query.state ? { state: query.state } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
    }),
  );
  return { items: page.items.map(withdrawalView), cursor: page.cursor ?? null };
}

export async function findWithdrawals(
  deps: ReadDeps,
  caller: Caller,
  query: { externalId?: string; limit?: string; cursor?: string },
): Promise<WithdrawalPage> {
  if (!query.externalId) {
    throw new InvalidParameter('externalId is required', [
      { path: 'query:externalId', message: 'is required' },
    ]);
  }
  if (query.externalId.length > EXTERNAL_ID_MAX) {
    throw new InvalidParameter('externalId is not valid', [
      { path: 'query:externalId', message: `must be at most ${EXTERNAL_ID_MAX} characters` },
    ]);
  }
  const limit = parseLimit(query.limit);
  const page = await withCursor(() =>
    deps.repository.findWithdrawalsByExternalId(query.externalId!, {
      limit,
      // Auditors search every owner's; anyone else only their own.
      ...(deps.access.isAuditor(caller) ? {} : { owner: deps.access.ownerOf(caller) }),
      ...(query.cursor ? { cursor: query.cursor } : {}),
    }),
  );
  return { items: page.items.map(withdrawalView), cursor: page.cursor ?? null };
}

/**
 * GET /payouts: the caller's owner's payouts, newest first (an auditor's: everyone's), from an
 * index, never a scan.
 */
export async function listPayouts(
  deps: ReadDeps,
  caller: Caller,
  query: { state?: string; stuck?: string; createdAfter?: string; limit?: string; cursor?: string },
): Promise<PayoutSummaryPage> {
  const invalid = (name: string, message: string) =>
    new InvalidParameter(`${name} is not valid`, [{ path: `query:${name}`, message }]);
  if (query.state !== undefined && !(PAYOUT_STATES as readonly string[]).includes(query.state))
    throw invalid('state', `must be one of ${PAYOUT_STATES.join(', ')}`);
  if (query.stuck !== undefined && query.stuck !== 'true' && query.stuck !== 'false')
    throw invalid('stuck', 'must be true or false');
  let createdAfter: string | undefined;
  if (query.createdAfter !== undefined) {
    // A real time only: 2030-02-30 or T24:00 is refused, not rolled over.
    const at = parseDateTime(query.createdAfter);
    if (!at)
      throw invalid(
        'createdAfter',
        'must be an ISO-8601 date-time with a zone, e.g. 2030-01-31T12:00:00Z',
      );
    // Stored createdAt is UTC with milliseconds: compare in the same form.
    createdAfter = at.toISOString();
  }
  const limit = parseLimit(query.limit);
  const page = await withCursor(() =>
    deps.repository.listPayouts({
      limit,
      ...(deps.access.isAuditor(caller) ? {} : { owner: deps.access.ownerOf(caller) }),
      ...(query.state !== undefined ? { state: query.state } : {}),
      ...(query.stuck === 'true' ? { stuck: true } : {}),
      ...(createdAfter !== undefined ? { createdAfter } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
    }),
  );
  return { items: page.items.map(payoutSummaryView), cursor: page.cursor ?? null };
}

export async function getBalances(calypso: CalypsoProvider): Promise<BalancesView> {
  const account = await (await calypso()).getAccount();
  return {
    account: account.account,
    balances: account.balances.map((b) => ({ currency: b.currency, amount: b.amount.toString() })),
  };
}

export async function listPayoutEvents(
  deps: ReadDeps,
  caller: Caller,
  id: string | undefined,
  query: { limit?: string; cursor?: string },
): Promise<PayoutEventPage> {
  const payoutId = checkId(id);
  const limit = parseLimit(query.limit);
  await readablePayout(deps, caller, payoutId);
  const page = await withCursor(() =>
    deps.repository.listAudit(payoutId, {
      limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    }),
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
      actor: e.actor ?? null,
      actorSession: e.actorSession ?? null,
      detail: e.detail ?? null,
    })),
    cursor: page.cursor ?? null,
  };
}
