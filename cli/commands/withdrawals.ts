/** `payouts withdrawals`: every withdrawal of a payout (or by externalId), page after page. */
import { UsageError, EXIT, type Context } from '../context.js';
import { csvLine } from '../csv.js';
import { stringOption, type ParsedCommandLine } from '../options.js';
import { table } from '../render.js';
import type { Page, WithdrawalView } from '../views.js';
import { payoutPath } from './get.js';

const PAGE_SIZE = '500';
export const CSV_COLUMNS = [
  'index',
  'address',
  'amount',
  'externalId',
  'state',
  'transactionHash',
  'fee',
  'reason',
] as const;

const FAILED_STATES = new Set(['FAILED', 'CANCELED']);

/**
 * Why a payment failed, for the `reason` column: Calypso's errors that still stand (all of them
 * when none does), or a word that none was given. Empty for a payment that did not fail and has
 * no error. `payouts create` ignores this column, so the failed export re-imports as it is.
 */
export function failureReason(w: WithdrawalView): string {
  const issues = w.errors ?? [];
  const standing = issues.filter((e) => e.resolved !== true);
  const shown = (standing.length > 0 ? standing : issues).map((e) =>
    e.message ? `${e.status}: ${e.message}` : e.status,
  );
  if (shown.length > 0) return shown.join('; ');
  return FAILED_STATES.has(w.state) ? `${w.state}, no error given by Calypso` : '';
}

/**
 * Every item of a paged listing, one page at a time. A cursor seen twice means the listing is
 * going round in circles: that is an error, not an endless loop.
 */
export async function* pages<T>(
  ctx: Context,
  path: string,
  query: Record<string, string | undefined>,
  /** Items to ask for per page (the API's limit); each call may ask for another. */
  pageSize: () => string = () => PAGE_SIZE,
): AsyncGenerator<T[]> {
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const page = (await ctx.api.get<Page<T>>(path, { ...query, limit: pageSize(), cursor })).body;
    yield page.items;
    if (page.cursor === null || page.cursor === undefined || page.cursor === '') return;
    if (seen.has(page.cursor))
      throw new Error(`the listing ${path} returned the same cursor twice`);
    seen.add(page.cursor);
    cursor = page.cursor;
  }
}

/** Every item of a paged listing, all pages read. */
export async function allItems<T>(
  ctx: Context,
  path: string,
  query: Record<string, string | undefined> = {},
): Promise<T[]> {
  const all: T[] = [];
  for await (const items of pages<T>(ctx, path, query)) all.push(...items);
  return all;
}

export async function withdrawalsCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  const externalId = stringOption(cmd.values, 'external-id');
  const stateText = stringOption(cmd.values, 'state');
  const state = stateText?.trim().toUpperCase();
  if (state !== undefined && !/^[A-Z_]{1,40}$/.test(state)) {
    throw new UsageError('--state is a withdrawal state such as COMPLETED, FAILED or IN_PROGRESS');
  }
  let path: string;
  let query: Record<string, string | undefined>;
  if (externalId !== undefined) {
    if (cmd.positionals.length > 0)
      throw new UsageError('withdrawals takes either a payout id or --external-id');
    if (state !== undefined)
      throw new UsageError('--state goes with a payout id, not --external-id');
    path = '/withdrawals';
    query = { externalId };
  } else {
    const [id, ...rest] = cmd.positionals;
    if (id === undefined) throw new UsageError('withdrawals needs a payout id (or --external-id)');
    if (rest.length > 0)
      throw new UsageError(`withdrawals takes one payout id (got ${cmd.positionals.join(' ')})`);
    path = `${payoutPath(id)}/withdrawals`;
    query = { state };
  }

  if (cmd.values.csv === true) {
    ctx.out(csvLine(CSV_COLUMNS));
    for await (const items of pages<WithdrawalView>(ctx, path, query)) {
      ctx.out(
        items
          .map((w) => csvLine(CSV_COLUMNS.map((c) => (c === 'reason' ? failureReason(w) : w[c]))))
          .join(''),
      );
    }
    return EXIT.ok;
  }

  const all = await allItems<WithdrawalView>(ctx, path, query);
  if (ctx.json) {
    ctx.printJson(all);
    return EXIT.ok;
  }
  const withPayout = externalId !== undefined;
  ctx.out(
    table(
      [
        ...(withPayout ? ['payout'] : []),
        'index',
        'state',
        'amount',
        'address',
        'externalId',
        'transactionHash',
        'fee',
        'reason',
      ],
      all.map((w) => [
        ...(withPayout ? [w.payoutId ?? ''] : []),
        String(w.index),
        w.state,
        w.amount,
        w.address,
        w.externalId ?? '',
        w.transactionHash ?? '',
        w.fee ?? '',
        failureReason(w),
      ]),
    ),
  );
  ctx.out(
    `${all.length} withdrawal${all.length === 1 ? '' : 's'}${state ? ` in state ${state}` : ''}\n`,
  );
  return EXIT.ok;
}
