/** Text output: payout summaries, the progress bar, tables, and error reports. */
import { Decimal } from '../shared/domain/money.js';
import { ApiProblemError, ApiUnreachableError, type FieldProblem } from './api.js';
import { NO_COLOURS } from './colour.js';
import type { RecipientsFile } from './recipients.js';
import type { ApprovalView, DryRunView, PayoutView } from './views.js';

/** Withdrawal states by how far along they are. */
const SUCCEEDED = new Set(['COMPLETED', 'REPLACED']);
const FAILED = new Set(['FAILED', 'CANCELED']);
const WAITING = new Set(['PENDING', 'DRAFT']);
/** Display order of withdrawal states; unknown states follow, alphabetically. */
const STATE_ORDER = [
  'COMPLETED',
  'REPLACED',
  'FAILED',
  'CANCELED',
  'IN_PROGRESS',
  'DRAFT',
  'PENDING',
];

export function orderedCounts(counts: Record<string, number>): [string, number][] {
  const rank = (state: string) => {
    const at = STATE_ORDER.indexOf(state);
    return at === -1 ? STATE_ORDER.length : at;
  };
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}

export function countsText(counts: Record<string, number>): string {
  const entries = orderedCounts(counts);
  return entries.length ? entries.map(([state, n]) => `${state} ${n}`).join(' · ') : 'none yet';
}

export interface Progress {
  total: number;
  succeeded: number;
  failed: number;
  moving: number;
  waiting: number;
}

export function progressOf(payout: PayoutView): Progress {
  const p: Progress = { total: 0, succeeded: 0, failed: 0, moving: 0, waiting: 0 };
  for (const [state, n] of Object.entries(payout.withdrawalCounts)) {
    if (SUCCEEDED.has(state)) p.succeeded += n;
    else if (FAILED.has(state)) p.failed += n;
    else if (WAITING.has(state)) p.waiting += n;
    else p.moving += n;
  }
  p.total = Math.max(payout.recipientCount, p.succeeded + p.failed + p.moving + p.waiting);
  // Recipients not yet counted in any batch are waiting too.
  p.waiting += p.total - (p.succeeded + p.failed + p.moving + p.waiting);
  return p;
}

/**
 * `[#####xx>>>.....]`: `#` paid, `x` failed or canceled, `>` under way, `.` not started. Cells are
 * shared out by largest remainder, so a finished payout fills the bar exactly. With colours, each
 * kind of cell has its own (the glyphs stay, so the bar reads the same without colour).
 */
export function progressBar(progress: Progress, width: number, colours = NO_COLOURS): string {
  const parts = [progress.succeeded, progress.failed, progress.moving, progress.waiting];
  const glyphs = ['#', 'x', '>', '.'];
  const paint = [colours.green, colours.red, colours.yellow, colours.dim];
  if (progress.total === 0) return `[${colours.dim('.'.repeat(width))}]`;
  const exact = parts.map((n) => (n * width) / progress.total);
  const cells = exact.map(Math.floor);
  let left = width - cells.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((x, i) => ({ i, r: x - Math.floor(x) }))
    .sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left <= 0) break;
    if (parts[i]! > 0) {
      cells[i]! += 1;
      left -= 1;
    }
  }
  return `[${cells.map((n, i) => paint[i]!(glyphs[i]!.repeat(n))).join('')}]`;
}

/** The bar's width for a line of `columns`: from the terminal's width alone, never the counts. */
export function progressBarWidth(columns: number): number {
  // Narrow terminals keep room for the counts; wide ones get a longer bar.
  return columns < 100 ? 10 : Math.min(40, Math.floor(columns / 4));
}

/**
 * One line of progress: bar, share done, counts by state, the payout's state. It holds still as
 * numbers grow: the bar's width depends on `maxColumns` only, the share is padded to 3 digits and
 * the final count to the width of the total, so the bar and the share never move sideways.
 */
export function progressLine(payout: PayoutView, maxColumns = 100, colours = NO_COLOURS): string {
  const columns = Math.max(20, maxColumns);
  const progress = progressOf(payout);
  const done = progress.succeeded + progress.failed;
  const percent = progress.total === 0 ? 0 : Math.floor((done * 100) / progress.total);
  const total = String(progress.total);
  const tail = ` ${String(percent).padStart(3)}% ${String(done).padStart(total.length)}/${total} final · ${countsText(payout.withdrawalCounts)} · ${payout.state}${payout.stuck ? ' · a batch is stuck' : ''}`;
  const width = progressBarWidth(columns);
  const room = columns - width - 2;
  const shown = tail.length > room ? `${tail.slice(0, Math.max(0, room - 1))}…` : tail;
  return progressBar(progress, width, colours) + shown;
}

export function payoutSummary(payout: PayoutView): string {
  const rows: [string, string][] = [
    ['payout', payout.id],
    ['name', payout.name],
    [
      'state',
      payout.state + (payout.stuck ? '  (a batch is stuck; the reconciler keeps trying)' : ''),
    ],
    ['currency', payout.currency],
    ['recipients', String(payout.recipientCount)],
    ['total', `${payout.total} ${payout.currency}`],
    ['fees', payout.totalFee === null ? 'not known yet' : `${payout.totalFee} ${payout.currency}`],
    ['withdrawals', countsText(payout.withdrawalCounts)],
  ];
  if (payout.approval) rows.push(['approval', approvalText(payout.approval)]);
  if (payout.cancellation) {
    const c = payout.cancellation;
    rows.push(['cancelled', `${c.at} by ${c.by}: ${c.reason}`]);
  }
  if (payout.submissionPaused) {
    const p = payout.submissionPaused;
    rows.push([
      'submission',
      `PAUSED since ${p.since}${p.reason ? ` (${p.reason})` : ''}: nothing new is sent to Calypso`,
    ]);
  }
  if (payout.executionDate) rows.push(['executes at', payout.executionDate]);
  if (payout.comment) rows.push(['comment', payout.comment]);
  if (payout.batches.length > 1 || payout.batches.some((b) => b.stuck || b.lastError)) {
    for (const b of payout.batches) {
      const notes = [
        b.calypsoState ?? b.status,
        `${b.recipientCount} recipients`,
        `${b.total} ${payout.currency}`,
        ...(b.stuck ? ['stuck'] : []),
        ...(b.lastError ? [`last error: ${b.lastError}`] : []),
      ];
      rows.push([`batch ${b.index}`, notes.join(' · ')]);
    }
  }
  if (payout.retryOf) rows.push(['retry of', payout.retryOf]);
  if (payout.retriedBy?.length) rows.push(['retried by', payout.retriedBy.join(', ')]);
  if (payout.createdAt) rows.push(['created', payout.createdAt]);
  if (payout.updatedAt) rows.push(['updated', payout.updatedAt]);
  return keyValues(rows);
}

/** `1 of 2 approvals (by …); due by …`. */
export function approvalText(approval: ApprovalView): string {
  const given = approval.approvals.map((a) => a.principal);
  return (
    `${approval.approvals.length} of ${approval.required} approval${approval.required === 1 ? '' : 's'}` +
    (given.length ? ` (by ${given.join(', ')})` : '') +
    `; due by ${approval.deadline}`
  );
}

export function dryRunSummary(view: DryRunView): string {
  return `Dry run: the request is valid; nothing was created.\n${keyValues([
    ['currency', view.currency],
    ...planRows(view),
  ])}`;
}

/**
 * What `create` shows on a terminal before money moves, from the dry run of the same request:
 * then it asks. Every amount is the API's exact decimal text, or computed with Decimal.
 */
export function confirmationSummary(
  view: DryRunView,
  request: { name: string; executionDate?: string },
): string {
  const rows: [string, string][] = [['name', request.name], ...planRows(view)];
  if (request.executionDate) rows.push(['executes at', request.executionDate]);
  return `About to create this payout:\n${keyValues(rows)}`;
}

/**
 * Recipients, total, batches, estimated fees, what the account must hold per coin, balance
 * before and after, approvals: from a dry run (the funds check's own estimate).
 */
function planRows(view: DryRunView): [string, string][] {
  const { funds } = view;
  const rows: [string, string][] = [
    ['recipients', String(view.recipientCount)],
    ['total', `${view.total} ${view.currency}`],
    [
      'batches',
      view.batches
        .map(
          (b) =>
            `#${b.index}: ${b.recipientCount} recipient${b.recipientCount === 1 ? '' : 's'}, ${b.total} ${view.currency}${b.kind === 'single' ? ' (single payout)' : ''}`,
        )
        .join('; '),
    ],
    [
      'fees',
      `estimated: Calypso ${funds.feePercentage}% (${funds.feeSource === 'observed' ? 'as on its last payout' : 'default'}) + ${funds.marginPercent}% margin, and the network fee`,
    ],
    ...funds.coins.map((coin): [string, string] => [`needs ${coin.currency}`, needsText(coin)]),
    ['balance', balanceText(view)],
  ];
  const after = balanceAfter(view);
  if (after !== undefined) rows.push(['balance after', after]);
  if (typeof view.approvalsRequired === 'number') {
    rows.push([
      'approval',
      view.approvalsRequired > 0
        ? `needed: ${view.approvalsRequired} approval${view.approvalsRequired === 1 ? '' : 's'} before anything is sent (PENDING_APPROVAL)`
        : 'not needed: it is sent once accepted',
    ]);
  }
  return rows;
}

function needsText(coin: DryRunView['funds']['coins'][number]): string {
  const needed = `${coin.needed} ${coin.currency}`;
  if (coin.available === null) return `${needed} (balance not read)`;
  if (coin.covers) return `${needed}: covered (${coin.available} held)`;
  const short = Decimal.parse(coin.needed).sub(Decimal.parse(coin.available)).toString();
  return `${needed}: NOT covered, short by ${short} ${coin.currency} (it would wait in AWAITING_FUNDS)`;
}

function balanceText(view: DryRunView): string {
  const { available, covers, error } = view.balance;
  if (available === null) return `could not be read${error ? ` (${error})` : ''}`;
  if (covers) return `${available} ${view.currency} available: covers the payout and its fees`;
  return `${available} ${view.currency} available: does NOT cover the payout and its fees`;
}

/** The balance less what the payout needs in its currency (estimated fees included), exactly. */
function balanceAfter(view: DryRunView): string | undefined {
  const needed = view.funds.coins.find((c) => c.currency === view.currency)?.needed ?? view.total;
  const have =
    view.balance.available === null ? undefined : Decimal.tryParse(view.balance.available);
  if (!have) return undefined;
  const left = have.sub(Decimal.parse(needed));
  return left.isNegative()
    ? `${left.toString()} ${view.currency}: the balance does not cover the payout and its fees`
    : `${left.toString()} ${view.currency} (after estimated fees)`;
}

export function keyValues(rows: readonly [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}\n`).join('');
}

/** A left-aligned table with a header row. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `${cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()}\n`;
  return line(header) + rows.map(line).join('');
}

/**
 * A field error from the API, with `$.recipients[i]…` mapped back to the recipients file:
 * `recipients.csv:14: amount "1.123" has 3 decimals; … ($.recipients[12].amount)`.
 */
export function fieldProblemLine(error: FieldProblem, file?: RecipientsFile): string {
  if (!file) return `${error.path}: ${error.message}`;
  const message = error.message.replace(/\$\.recipients\[(\d+)\]/g, (whole, n: string) => {
    const line = file.lines[Number(n)];
    return line === undefined ? whole : `the recipient on line ${line}`;
  });
  const match = /^\$\.recipients\[(\d+)\](?:\.([A-Za-z_][A-Za-z0-9_]*))?/.exec(error.path);
  const index = match ? Number(match[1]) : undefined;
  const line = index === undefined ? undefined : file.lines[index];
  if (index === undefined || line === undefined) {
    return error.path === '$.recipients'
      ? `${file.name}: recipients ${message}`
      : `${error.path}: ${message}`;
  }
  const field = match?.[2];
  const recipient = file.recipients[index];
  const value =
    recipient && (field === 'amount' || field === 'address' || field === 'externalId')
      ? recipient[field]
      : undefined;
  const subject = field ? `${field}${value !== undefined ? ` ${JSON.stringify(value)}` : ''} ` : '';
  return `${file.name}:${line}: ${subject}${message} (${error.path})`;
}

/** The file line a `$.recipients[i]…` field error points at, when the file is known. */
export function fieldLine(error: FieldProblem, file?: RecipientsFile): { line?: number } {
  const match = /^\$\.recipients\[(\d+)\]/.exec(error.path);
  const line = match && file ? file.lines[Number(match[1])] : undefined;
  return line === undefined ? {} : { line };
}

const MAX_LISTED = 50;

/** The lines describing a failure, for stderr. */
export function errorLines(err: unknown, file?: RecipientsFile): string[] {
  if (err instanceof ApiProblemError) {
    const { problem } = err;
    const lines = [`${problem.status} ${problem.title}`];
    if (problem.detail) lines.push(`  ${problem.detail}`);
    const errors = Array.isArray(problem.errors) ? problem.errors : [];
    for (const e of errors.slice(0, MAX_LISTED)) lines.push(`  ${fieldProblemLine(e, file)}`);
    if (errors.length > MAX_LISTED) lines.push(`  … and ${errors.length - MAX_LISTED} more`);
    if (typeof problem.payoutId === 'string') lines.push(`  payout: ${problem.payoutId}`);
    lines.push(`  ${err.method} ${err.url}`);
    const id = problem.correlationId ?? err.correlationId;
    if (id) lines.push(`  correlation id: ${id}`);
    return lines;
  }
  if (err instanceof ApiUnreachableError) {
    const lines = [`could not reach the payouts API at ${err.url}: ${err.reason}`];
    const host = new URL(err.url).hostname;
    if (host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]') {
      lines.push(
        '  is the local stack running? Start it with `npm start`, or point --api-url at the API',
      );
    }
    lines.push(`  correlation id: ${err.correlationId}`);
    return lines;
  }
  return [`error: ${err instanceof Error ? err.message : String(err)}`];
}
