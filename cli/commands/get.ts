/** `payouts get <id> [--watch]`: a payout's state, and its progress until it is final. */
import { ApiProblemError, ApiUnreachableError } from '../api.js';
import { coloursFor } from '../colour.js';
import { EXIT, UsageError, type Context } from '../context.js';
import { stringOption, type ParsedCommandLine } from '../options.js';
import { errorLines, orderedCounts, payoutSummary, progressLine } from '../render.js';
import { isFinalPayoutState, type PayoutView } from '../views.js';

const DEFAULT_INTERVAL_MS = 2000;
/** Polls that may fail in a row (API blips) before watching gives up. */
const TOLERATED_FAILURES = 5;

export function payoutPath(id: string): string {
  return `/payouts/${encodeURIComponent(id)}`;
}

export function singleId(cmd: ParsedCommandLine, command: string): string {
  const [id, ...rest] = cmd.positionals;
  if (id === undefined || id.trim() === '') throw new UsageError(`${command} needs a payout id`);
  if (rest.length > 0)
    throw new UsageError(`${command} takes one payout id (got ${cmd.positionals.join(' ')})`);
  return id.trim();
}

export async function getCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  const id = singleId(cmd, 'get');
  const intervalText = stringOption(cmd.values, 'interval');
  let interval = DEFAULT_INTERVAL_MS;
  if (intervalText !== undefined) {
    if (!/^[0-9]{1,9}$/.test(intervalText) || Number(intervalText) < 10) {
      throw new UsageError('--interval is in milliseconds: a whole number, at least 10');
    }
    interval = Number(intervalText);
  }
  if (cmd.values.watch === true) return watch(ctx, id, interval);

  const payout = (await ctx.api.get<PayoutView>(payoutPath(id))).body;
  if (ctx.json) ctx.printJson(payout);
  else ctx.out(payoutSummary(payout));
  return EXIT.ok;
}

/** What a progress line shows; a new line (or redraw) only when it changes. */
function progressKey(payout: PayoutView): string {
  return JSON.stringify([payout.state, payout.stuck, orderedCounts(payout.withdrawalCounts)]);
}

function transient(err: unknown): boolean {
  if (err instanceof ApiUnreachableError) return true;
  return err instanceof ApiProblemError && (err.status >= 500 || err.status === 429);
}

async function watch(ctx: Context, id: string, interval: number): Promise<number> {
  const stdout = ctx.io.stdout;
  const tty = stdout.isTTY === true && !ctx.json;
  const colours = coloursFor(stdout, ctx.io.env);
  let shown = '';
  let drawn = false;
  let failures = 0;
  let seen = false;
  let payout: PayoutView;

  for (;;) {
    try {
      payout = (await ctx.api.get<PayoutView>(payoutPath(id))).body;
      failures = 0;
      seen = true;
    } catch (err) {
      failures += 1;
      if (!seen || !transient(err) || failures >= TOLERATED_FAILURES) {
        if (drawn) ctx.out('\n');
        throw err;
      }
      if (drawn) ctx.out('\n');
      drawn = false;
      shown = '';
      ctx.note(
        `${errorLines(err)[0]} (attempt ${failures} of ${TOLERATED_FAILURES}; still watching)`,
      );
      await ctx.io.sleep(interval);
      continue;
    }

    const key = progressKey(payout);
    if (ctx.json) {
      if (key !== shown) ctx.out(`${JSON.stringify(payout)}\n`);
    } else if (tty) {
      // Redrawn on every poll: the terminal may have been resized.
      ctx.out(`\r\x1b[2K${progressLine(payout, (stdout.columns || 100) - 1, colours)}`);
      drawn = true;
    } else if (key !== shown) {
      ctx.out(`${ctx.io.now().toISOString().slice(11, 19)} ${progressLine(payout, 160)}\n`);
    }
    shown = key;
    if (isFinalPayoutState(payout.state)) break;
    await ctx.io.sleep(interval);
  }

  if (drawn) ctx.out('\n');
  if (!ctx.json) {
    ctx.out(payoutSummary(payout));
    ctx.out(finalNote(payout));
  }
  return payout.state === 'COMPLETED' ? EXIT.ok : EXIT.notCompleted;
}

function finalNote(payout: PayoutView): string {
  const failed = payout.withdrawalCounts.FAILED ?? 0;
  switch (payout.state) {
    case 'COMPLETED':
      return `Payout ${payout.id} completed: every payment was made.\n`;
    case 'COMPLETED_WITH_FAILURES':
    case 'FAILED':
      return (
        `Payout ${payout.id} ended ${payout.state}` +
        (failed > 0
          ? `: ${failed} payment${failed === 1 ? '' : 's'} failed.\n` +
            `  See them with: payouts withdrawals ${payout.id} --state FAILED\n` +
            `  Pay them again with: payouts retry-failed ${payout.id}\n`
          : '.\n')
      );
    default:
      return `Payout ${payout.id} ended ${payout.state}.\n`;
  }
}
