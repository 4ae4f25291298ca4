/**
 * `payouts create`: a recipients file in, a payout (or a dry-run plan) out. On a terminal it
 * first shows what the payout will do (from a dry run of the same request) and asks before money
 * moves; `--yes`, --json and any use without a terminal (scripts, CI) do not ask.
 */
import { confirmationSummary, dryRunSummary, payoutSummary } from '../render.js';
import { EXIT, ReportedError, UsageError, type Context } from '../context.js';
import { describeError, InputError, reportError } from '../errors.js';
import { defaultIdempotencyKey, IDEMPOTENCY_KEY, type CreatePayoutBody } from '../idempotency.js';
import { requiredOption, stringOption, type ParsedCommandLine } from '../options.js';
import {
  displayName,
  parseRecipients,
  type RecipientsFile,
  type RecipientsFormat,
} from '../recipients.js';
import type { DryRunView, PayoutView } from '../views.js';

export async function createCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  const { values } = cmd;
  if (cmd.positionals.length > 0) {
    throw new UsageError(
      `create takes no arguments (got ${cmd.positionals.join(' ')}); the file goes in --file`,
    );
  }
  const currency = requiredOption(values, 'currency', 'create').trim().toUpperCase();
  const name = requiredOption(values, 'name', 'create').trim();
  const path = requiredOption(values, 'file', 'create');
  const comment = stringOption(values, 'comment');
  const executionDate = stringOption(values, 'execution-date');
  const format = stringOption(values, 'format');
  if (format !== undefined && format !== 'csv' && format !== 'json') {
    throw new UsageError(`--format must be csv or json, not ${JSON.stringify(format)}`);
  }
  const givenKey = stringOption(values, 'idempotency-key');
  if (givenKey !== undefined && !IDEMPOTENCY_KEY.test(givenKey)) {
    throw new UsageError(
      '--idempotency-key must be 8 to 128 characters of A-Z, a-z, 0-9, ".", "_", ":", "-"',
    );
  }
  const dryRun = values['dry-run'] === true;
  // A person at a terminal sees the summary; one who can answer is asked, unless --yes.
  const showSummary = !dryRun && !ctx.json && ctx.io.stdout.isTTY === true;
  const ask = showSummary && values.yes !== true && ctx.interactive;
  if (ask && path === '-') {
    throw new UsageError(
      'the recipients would come from standard input, so it could not also answer the confirmation: add --yes',
    );
  }

  const file = await readRecipients(ctx, path, format as RecipientsFormat | undefined);
  const body: CreatePayoutBody = {
    currency,
    name,
    ...(comment !== undefined ? { comment } : {}),
    ...(executionDate !== undefined ? { executionDate: executionDate.trim() } : {}),
    recipients: file.recipients,
  };
  const key = givenKey ?? defaultIdempotencyKey(body);
  const keyNote = givenKey
    ? ''
    : ' (derived from the request: running this same command again is safe)';

  /** The plan of this very request, storing nothing. */
  const planOf = async () =>
    (
      await send<DryRunView>(ctx, file, () =>
        ctx.api.post<DryRunView>('/payouts', {
          query: { dryRun: 'true' },
          body,
          idempotencyKey: key,
        }),
      )
    ).body;

  if (dryRun) {
    const plan = await planOf();
    if (ctx.json) ctx.printJson(plan);
    else ctx.out(dryRunSummary(plan));
    return EXIT.ok;
  }

  if (showSummary) {
    ctx.out(confirmationSummary(await planOf(), body));
    if (ask && !(await ctx.confirm('Create this payout?'))) {
      ctx.err('Not confirmed: nothing was sent.\n');
      return EXIT.notConfirmed;
    }
  }

  if (ctx.json) ctx.note(`Idempotency key: ${key}${keyNote}`);
  else ctx.out(`Idempotency key: ${key}${keyNote}\n`);
  const response = await send<PayoutView>(ctx, file, () =>
    ctx.api.post<PayoutView>('/payouts', { body, idempotencyKey: key }),
  );
  const payout = response.body;
  if (ctx.json) {
    ctx.printJson(payout);
    return EXIT.ok;
  }
  if (response.status === 200) {
    ctx.out(
      `This request was already accepted earlier with the same idempotency key: nothing new was created.\n` +
        `To pay the same recipients again on purpose, give a new --idempotency-key (or another --name).\n`,
    );
  } else {
    ctx.out(`Payout accepted.\n`);
  }
  ctx.out(payoutSummary(payout));
  ctx.out(`Follow it with: payouts get ${payout.id} --watch\n`);
  return EXIT.ok;
}

async function readRecipients(
  ctx: Context,
  path: string,
  format: RecipientsFormat | undefined,
): Promise<RecipientsFile> {
  const name = displayName(path);
  let text: string;
  try {
    text = await ctx.io.readText(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : (err as Error).message;
    throw new InputError(`${name}: cannot read the file: ${reason}`);
  }
  // A RecipientsFileError goes up to be reported with every problem and its line.
  const file = format ? parseRecipients(text, name, format) : parseRecipients(text, name);
  for (const note of file.notes) ctx.note(`${name}: ${note}`);
  return file;
}

/** Sends, and reports a refusal with the API's field errors mapped back to the file's lines. */
async function send<T>(
  ctx: Context,
  file: RecipientsFile,
  request: () => Promise<{ status: number; body: T }>,
) {
  try {
    return await request();
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new ReportedError(
      reportError(ctx.io.stderr, describeError(err, file), { json: ctx.json, env: ctx.io.env }),
    );
  }
}
