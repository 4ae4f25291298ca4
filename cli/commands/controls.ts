/**
 * The treasury's controls from the command line: `approve`, `reject`, `cancel` and `pending` for
 * payouts the payout policy holds, and `pause`, `resume`, `paused` for the emergency stop of all
 * submission. The API decides who may do what (four-eyes, approvers, operators); a refusal is its
 * 4xx, reported as exit 3 with the API's reason.
 *
 * None of these POSTs carries an Idempotency-Key, and none needs one for the client's retries: a
 * second approval by the same principal, a second cancel, or pausing what is paused changes
 * nothing at the API (the first two are refused with 409 saying so).
 */
import { EXIT, UsageError, type Context } from '../context.js';
import { stringOption, type ParsedCommandLine } from '../options.js';
import { approvalText, keyValues, payoutSummary, table } from '../render.js';
import type { PauseView, PayoutView } from '../views.js';
import { payoutPath, singleId } from './get.js';
import { allItems } from './withdrawals.js';

/** `--reason`: required text when `required`, else optional (but not empty when given). */
function reasonOption(cmd: ParsedCommandLine, command: string, required: boolean) {
  const reason = stringOption(cmd.values, 'reason');
  if (reason === undefined) {
    if (required) throw new UsageError(`${command} needs --reason "why"`);
    return undefined;
  }
  if (reason.trim() === '') throw new UsageError('--reason is empty: say why');
  return reason.trim();
}

function noArguments(cmd: ParsedCommandLine, command: string) {
  if (cmd.positionals.length > 0)
    throw new UsageError(`${command} takes no arguments (got ${cmd.positionals.join(' ')})`);
}

/** What a decision on a payout left behind, in one line, then the payout. */
function printDecision(ctx: Context, headline: string, payout: PayoutView): number {
  if (ctx.json) {
    ctx.printJson(payout);
    return EXIT.ok;
  }
  ctx.out(`${headline}\n`);
  ctx.out(payoutSummary(payout));
  return EXIT.ok;
}

export async function approveCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  const id = singleId(cmd, 'approve');
  const payout = (await ctx.api.post<PayoutView>(`${payoutPath(id)}/approve`)).body;
  const approval = payout.approval;
  const headline =
    approval && approval.approvals.length < approval.required
      ? `Approved ${id}: ${approval.approvals.length} of ${approval.required} approvals; it waits for ${approval.required - approval.approvals.length} more.`
      : `Approved ${id}: it has every approval it needs and goes to submission.`;
  return printDecision(ctx, headline, payout);
}

export async function rejectCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  const id = singleId(cmd, 'reject');
  const reason = reasonOption(cmd, 'reject', true)!;
  const payout = (await ctx.api.post<PayoutView>(`${payoutPath(id)}/reject`, { body: { reason } }))
    .body;
  return printDecision(ctx, `Rejected ${id}: it is cancelled and nothing was sent.`, payout);
}

export async function cancelCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  const id = singleId(cmd, 'cancel');
  const reason = reasonOption(cmd, 'cancel', false);
  const payout = (
    await ctx.api.post<PayoutView>(`${payoutPath(id)}/cancel`, reason ? { body: { reason } } : {})
  ).body;
  return printDecision(ctx, `Cancelled ${id}: nothing of it was sent.`, payout);
}

/** GET /approvals, every page: the payouts waiting for this caller's approval. */
export async function pendingCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  noArguments(cmd, 'pending');
  const all = await allItems<PayoutView>(ctx, '/approvals');
  if (ctx.json) {
    ctx.printJson(all);
    return EXIT.ok;
  }
  if (all.length === 0) {
    ctx.out('Nothing awaits your approval.\n');
    return EXIT.ok;
  }
  ctx.out(
    table(
      ['payout', 'name', 'total', 'recipients', 'created by', 'approvals'],
      all.map((p) => [
        p.id,
        p.name,
        `${p.total} ${p.currency}`,
        String(p.recipientCount),
        p.createdBy?.principal ?? '',
        p.approval ? approvalText(p.approval) : '',
      ]),
    ),
  );
  ctx.out(
    `${all.length} payout${all.length === 1 ? '' : 's'} awaiting your approval: payouts approve <id>, or payouts reject <id> --reason "…"\n`,
  );
  return EXIT.ok;
}

function pauseText(view: PauseView): string {
  if (!view.paused) return 'Submission is running: payouts are sent to Calypso as they come.\n';
  return (
    'Submission is PAUSED: nothing new is sent to Calypso; payouts are accepted and wait, and what\n' +
    'is already at Calypso is still tracked.\n' +
    keyValues([
      ['since', view.since ?? ''],
      ['by', view.by ?? ''],
      ['reason', view.reason ?? ''],
    ])
  );
}

function printPause(ctx: Context, view: PauseView): number {
  if (ctx.json) ctx.printJson(view);
  else ctx.out(pauseText(view));
  return EXIT.ok;
}

/** `pause --reason` stops all submission; `pause --status` only shows the state (as `paused`). */
export async function pauseCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  noArguments(cmd, 'pause');
  if (cmd.values.status === true) {
    if (stringOption(cmd.values, 'reason') !== undefined)
      throw new UsageError('pause --status only shows the state; it takes no --reason');
    return pausedCommand(ctx, cmd);
  }
  const reason = reasonOption(cmd, 'pause', true)!;
  return printPause(
    ctx,
    (await ctx.api.post<PauseView>('/admin/pause', { body: { reason } })).body,
  );
}

export async function resumeCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  noArguments(cmd, 'resume');
  return printPause(ctx, (await ctx.api.post<PauseView>('/admin/resume')).body);
}

export async function pausedCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  noArguments(cmd, cmd.command ?? 'paused');
  return printPause(ctx, (await ctx.api.get<PauseView>('/admin/pause')).body);
}
