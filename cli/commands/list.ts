/** `payouts list`: the caller's payouts (an auditor's: everyone's), newest first, page after page. */
import { PAYOUT_STATES } from '../../shared/domain/payout.js';
import type { PayoutSummary } from '../api-types.js';
import { EXIT, UsageError, type Context } from '../context.js';
import { stringOption, type ParsedCommandLine } from '../options.js';
import { table } from '../render.js';
import { pages } from './withdrawals.js';

/** The most the API gives in one page. */
const MAX_PAGE = 1000;

export async function listCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  if (cmd.positionals.length > 0)
    throw new UsageError(`list takes no arguments (got ${cmd.positionals.join(' ')})`);
  const state = stringOption(cmd.values, 'state')?.trim().toUpperCase();
  if (state !== undefined && !(PAYOUT_STATES as readonly string[]).includes(state))
    throw new UsageError(`--state is one of ${PAYOUT_STATES.join(', ')}`);
  const createdAfter = stringOption(cmd.values, 'created-after');
  if (createdAfter !== undefined && Number.isNaN(Date.parse(createdAfter)))
    throw new UsageError('--created-after is an ISO-8601 date-time, e.g. 2030-01-31T12:00:00Z');
  const limitText = stringOption(cmd.values, 'limit');
  if (limitText !== undefined && !/^[1-9][0-9]{0,8}$/.test(limitText))
    throw new UsageError('--limit is a whole number of payouts, 1 or more');
  const limit = limitText === undefined ? Infinity : Number(limitText);

  const all: PayoutSummary[] = [];
  const query = {
    state,
    stuck: cmd.values.stuck === true ? 'true' : undefined,
    createdAfter,
  };
  // Each page asks for no more than is still wanted.
  const pageSize = () => String(Math.min(MAX_PAGE, limit - all.length));
  for await (const items of pages<PayoutSummary>(ctx, '/payouts', query, pageSize)) {
    all.push(...items.slice(0, limit - all.length));
    if (all.length >= limit) break;
  }

  if (ctx.json) {
    ctx.printJson(all);
    return EXIT.ok;
  }
  if (all.length > 0) {
    ctx.out(
      table(
        ['payout', 'state', 'name', 'total', 'recipients', 'stuck', 'created'],
        all.map((p) => [
          p.id,
          p.state,
          p.name,
          `${p.total} ${p.currency}`,
          String(p.recipientCount),
          p.stuck ? 'STUCK' : '',
          p.createdAt,
        ]),
      ),
    );
  }
  const filters = [
    state ? `in state ${state}` : '',
    cmd.values.stuck === true ? 'stuck' : '',
    createdAfter ? `created after ${createdAfter}` : '',
  ].filter(Boolean);
  ctx.out(
    `${all.length} payout${all.length === 1 ? '' : 's'}${filters.length ? ` ${filters.join(', ')}` : ''}${all.length === limit ? ` (--limit ${limit})` : ''}\n`,
  );
  return EXIT.ok;
}
