/** `payouts retry-failed`, `balances` and `events`. */
import { EXIT, UsageError, type Context } from '../context.js';
import { defaultRetryKey, IDEMPOTENCY_KEY } from '../idempotency.js';
import { stringOption, type ParsedCommandLine } from '../options.js';
import { payoutSummary, table } from '../render.js';
import type { BalancesView, EventView, PayoutView } from '../views.js';
import { payoutPath, singleId } from './get.js';
import { allItems } from './withdrawals.js';

export async function retryFailedCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  const id = singleId(cmd, 'retry-failed');
  const givenKey = stringOption(cmd.values, 'idempotency-key');
  if (givenKey !== undefined && !IDEMPOTENCY_KEY.test(givenKey)) {
    throw new UsageError(
      '--idempotency-key must be 8 to 128 characters of A-Z, a-z, 0-9, ".", "_", ":", "-"',
    );
  }
  const key = givenKey ?? defaultRetryKey(id);
  const response = await ctx.api.post<PayoutView>(`${payoutPath(id)}/retry-failed`, {
    idempotencyKey: key,
  });
  const payout = response.body;
  if (ctx.json) {
    ctx.printJson(payout);
    return EXIT.ok;
  }
  ctx.out(
    response.status === 200
      ? `The failed payments of ${id} were already retried with this idempotency key (${key}): nothing new was created.\n`
      : `Retrying the failed payments of ${id} as a new payout (idempotency key ${key}).\n`,
  );
  ctx.out(payoutSummary(payout));
  ctx.out(`Follow it with: payouts get ${payout.id} --watch\n`);
  return EXIT.ok;
}

export async function balancesCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  if (cmd.positionals.length > 0) throw new UsageError('balances takes no arguments');
  const view = (await ctx.api.get<BalancesView>('/balances')).body;
  if (ctx.json) {
    ctx.printJson(view);
    return EXIT.ok;
  }
  if (view.account) ctx.out(`account ${view.account}\n`);
  ctx.out(
    view.balances.length
      ? table(
          ['currency', 'amount'],
          view.balances.map((b) => [b.currency, b.amount]),
        )
      : 'no balances\n',
  );
  return EXIT.ok;
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export async function eventsCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  const id = singleId(cmd, 'events');
  const all = await allItems<EventView>(ctx, `${payoutPath(id)}/events`);
  if (ctx.json) {
    ctx.printJson(all);
    return EXIT.ok;
  }
  ctx.out(
    table(
      ['at', 'entity', 'field', 'change', 'cause', 'detail'],
      all.map((e) => [
        e.at,
        e.ref ? `${e.entity} ${e.ref}` : e.entity,
        e.field,
        `${text(e.from) || '∅'} → ${text(e.to)}`,
        e.cause,
        text(e.detail),
      ]),
    ),
  );
  ctx.out(`${all.length} event${all.length === 1 ? '' : 's'}\n`);
  return EXIT.ok;
}
