/** The command line: commands, their options, and the help text. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError, type GlobalOptions } from './context.js';

export const COMMANDS = [
  'create',
  'get',
  'list',
  'withdrawals',
  'retry-failed',
  'balances',
  'events',
  'webhook',
  'approve',
  'reject',
  'cancel',
  'pending',
  'pause',
  'resume',
  'paused',
] as const;
export type Command = (typeof COMMANDS)[number];

type OptionSpec = { type: 'string' | 'boolean'; short?: string; for: readonly Command[] | 'all' };

const OPTIONS = {
  'api-url': { type: 'string', for: 'all' },
  caller: { type: 'string', for: 'all' },
  json: { type: 'boolean', for: 'all' },
  help: { type: 'boolean', short: 'h', for: 'all' },
  version: { type: 'boolean', short: 'V', for: 'all' },
  currency: { type: 'string', for: ['create'] },
  name: { type: 'string', for: ['create'] },
  file: { type: 'string', short: 'f', for: ['create'] },
  comment: { type: 'string', for: ['create'] },
  'execution-date': { type: 'string', for: ['create'] },
  'idempotency-key': { type: 'string', for: ['create', 'retry-failed'] },
  'dry-run': { type: 'boolean', for: ['create'] },
  yes: { type: 'boolean', short: 'y', for: ['create'] },
  format: { type: 'string', for: ['create'] },
  watch: { type: 'boolean', short: 'w', for: ['get'] },
  interval: { type: 'string', for: ['get'] },
  state: { type: 'string', for: ['withdrawals', 'list'] },
  stuck: { type: 'boolean', for: ['list'] },
  'created-after': { type: 'string', for: ['list'] },
  limit: { type: 'string', for: ['list'] },
  'external-id': { type: 'string', for: ['withdrawals'] },
  csv: { type: 'boolean', for: ['withdrawals'] },
  'request-id': { type: 'string', for: ['webhook'] },
  'secret-id': { type: 'string', for: ['webhook'] },
  reason: { type: 'string', for: ['reject', 'cancel', 'pause'] },
  status: { type: 'boolean', for: ['pause'] },
} satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

export interface ParsedCommandLine {
  command: Command | undefined;
  positionals: string[];
  values: Partial<Record<OptionName, string | boolean>>;
  global: GlobalOptions;
  help: boolean;
  version: boolean;
}

/** The package's version, which is the CLI's. */
export const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

export function parseCommandLine(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): ParsedCommandLine {
  const config = Object.fromEntries(
    Object.entries(OPTIONS).map(([name, spec]) => [
      name,
      'short' in spec ? { type: spec.type, short: spec.short } : { type: spec.type },
    ]),
  ) as Record<OptionName, { type: 'string' | 'boolean'; short?: string }>;
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: config,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (err) {
    const message = (err as Error).message;
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    throw new UsageError(unknown ? `unknown option ${unknown[1]}` : message);
  }
  const [first, ...positionals] = parsed.positionals;
  const command =
    first === undefined
      ? undefined
      : (COMMANDS as readonly string[]).includes(first)
        ? (first as Command)
        : undefined;
  if (first !== undefined && command === undefined) {
    throw new UsageError(
      `unknown command ${JSON.stringify(first)}; the commands are ${COMMANDS.join(', ')}`,
    );
  }
  const values = parsed.values as Partial<Record<OptionName, string | boolean>>;
  if (command) {
    for (const token of parsed.tokens ?? []) {
      if (token.kind !== 'option') continue;
      const spec: OptionSpec = OPTIONS[token.name as OptionName];
      if (spec.for !== 'all' && !spec.for.includes(command)) {
        throw new UsageError(`${command} does not take --${token.name}`);
      }
    }
  }
  const port = env.PORT && /^[0-9]{1,5}$/.test(env.PORT) ? env.PORT : '3000';
  const caller = (values.caller as string | undefined) ?? env.PAYOUTS_CALLER;
  return {
    command,
    positionals,
    values,
    help: values.help === true,
    version: values.version === true,
    global: {
      apiUrl:
        (values['api-url'] as string | undefined) ??
        env.PAYOUTS_API_URL ??
        `http://127.0.0.1:${port}`,
      ...(caller ? { caller } : {}),
      json: values.json === true,
    },
  };
}

export function stringOption(
  values: ParsedCommandLine['values'],
  name: OptionName,
): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function requiredOption(
  values: ParsedCommandLine['values'],
  name: OptionName,
  command: string,
): string {
  const value = stringOption(values, name);
  if (value === undefined || value.trim() === '')
    throw new UsageError(`${command} needs --${name}`);
  return value;
}

export const USAGE = `payouts: pay many crypto recipients through the payouts API

Usage: payouts <command> [options]

Commands:
  create --currency C --name N --file recipients.csv|json
         [--comment TEXT] [--execution-date ISO] [--idempotency-key K] [--dry-run] [--yes]
                             create a payout from a CSV (address,amount,externalId) or JSON file;
                             on a terminal, shows a summary and asks first
  get <id> [--watch] [--interval ms]
                             show a payout; --watch follows it until it is final
  list [--state S] [--stuck] [--created-after T] [--limit N]
                             your payouts, newest first (an auditor's: everyone's)
  withdrawals <id> [--state S] [--csv]
  withdrawals --external-id X [--csv]
                             list a payout's withdrawals (every page), or find them by externalId
  retry-failed <id> [--idempotency-key K]
                             pay a final payout's failed payments again, as a new payout
  balances                   the Calypso account's balances
  events <id>                a payout's audit trail
  webhook register <url> [--request-id ID] [--secret-id ARN]
                             subscribe <url> to Calypso's payout webhooks (talks to Calypso directly)

Treasury controls (see the payout policy):
  pending                    payouts awaiting your approval
  approve <id>               approve a payout (never your own)
  reject <id> --reason TEXT  refuse a payout: it is cancelled, nothing is sent
  cancel <id> [--reason TEXT]
                             cancel a payout while nothing of it has been sent
  pause --reason TEXT        stop all submission to Calypso (operators)
  resume                     start submission again (operators)
  paused, pause --status     whether submission is paused, since when, by whom, why

Global options:
  --api-url URL    the payouts API (default http://127.0.0.1:$PORT, PORT defaulting to 3000;
                   or $PAYOUTS_API_URL). An https URL is signed with SigV4 (execute-api) using
                   the standard AWS credential chain; the region comes from the URL or AWS_REGION.
  --caller ID      the local API's caller identity (x-caller-id; or $PAYOUTS_CALLER)
  --json           print the API's JSON instead of text. Standard output then carries only the
                   result; standard error carries JSON lines: {"note": "..."} for remarks and,
                   on failure, one {"error": {"kind", "exitCode", "message", ...}}
  -h, --help       this help, or a command's: payouts <command> --help
  -V, --version    the CLI's version

Colour is used on a terminal only, and never when NO_COLOR is set.

Exit status:
  0  done
  1  something unexpected (an answer the CLI cannot read, or a fault of its own)
  2  bad input: the command line or the recipients file; nothing was sent
  3  refused by the API (a 4xx answer, e.g. 422 invalid fields, 404 no such payout)
  4  the API could not be reached, did not answer in time, or failed (5xx)
  5  get --watch: the payout ended in a final state other than COMPLETED
  6  create on a terminal: the summary was not confirmed; nothing was sent
`;

export const COMMAND_HELP: Record<Command, string> = {
  create: `Usage: payouts create --currency C --name N --file FILE [options]

Creates a payout. FILE is CSV with the columns address,amount,externalId (externalId optional;
a header line naming them, in any order, or no header and that order), or JSON: an array of
{"address", "amount", "externalId"?} or {"recipients": [...]}. Amounts are decimal strings such
as 10.50 (a dot, no grouping). Problems are reported as FILE:LINE, the API's included. Use - as
FILE for standard input.

CSV fields are separated by commas or by semicolons (detected from the first line); a UTF-8 byte
order mark is ignored. In a semicolon file, as a European spreadsheet writes it, an amount may
have a decimal comma: 1,5 is read exactly as 1.5. An amount with both a dot and a comma
(1.234,5), or a file mixing 1,5 with 1.5, is refused: the dot may group thousands. Other columns
(such as those of payouts withdrawals --csv) are ignored. What was detected or ignored is said
once on standard error.

Options:
  --currency C            e.g. BTC, ETH, USDT
  --name N                the payout's name
  --file FILE, -f FILE    the recipients
  --format csv|json       when the file name does not tell
  --comment TEXT
  --execution-date ISO    pay at this time, e.g. 2030-01-31T12:00:00Z
  --idempotency-key K     default: derived from the request (currency, name, comment,
                          execution date and recipients), so running the same command again
                          returns the same payout instead of paying twice
  --dry-run               validate and plan only: batches, total, fees, whether the balance covers it
  --yes, -y               do not ask for confirmation

On a terminal (standard output a TTY, no --json), create first shows what the payout will do,
from a dry run of the same request: recipients, total, batches (mass or single payouts), the
estimated fees and what the account must hold per coin (the fee coin too, for a token: the
estimate the funds check makes before sending), the balance and the balance after, and whether
approvals will be needed. When
standard input is a terminal too, it then asks "Create this payout? [y/N]": anything but y or yes
(or the end of input) sends nothing and exits 6. --yes skips the question; --json and use
without a terminal (scripts, CI) never ask and show no summary.
`,
  get: `Usage: payouts get <id> [--watch] [--interval ms]

Shows a payout: state, totals, fees, withdrawals by state. With --watch, shows a progress bar
until the payout is final (redrawn in place on a terminal, one line per change otherwise), then
exits 0 if it COMPLETED and 5 for any other final state.

Options:
  --watch, -w       follow the payout until it is final
  --interval ms     time between polls (default 2000)
`,
  list: `Usage: payouts list [--state S] [--stuck] [--created-after T] [--limit N]

Lists the payouts of your owner (your team, or you), newest first, following the API's pages;
an auditor lists everyone's. Payouts created before the listing existed are not shown.

Options:
  --state S           only payouts in this state (e.g. IN_PROGRESS, COMPLETED, FAILED)
  --stuck             only payouts with a batch flagged stuck
  --created-after T   only payouts created after this ISO-8601 date-time, e.g. 2030-01-31T12:00:00Z
  --limit N           at most N payouts (default: every page)

--json prints them as a JSON array.
`,
  withdrawals: `Usage: payouts withdrawals <id> [--state S] [--csv]
       payouts withdrawals --external-id X [--csv]

Lists every withdrawal of a payout (following the API's pages), optionally only those in state S
(e.g. FAILED), or the withdrawals with an externalId across payouts. --csv writes
index,address,amount,externalId,state,transactionHash,fee,reason to standard output; reason says
why a payment failed (Calypso's errors). The export of --state FAILED can be given as is to
payouts create --file: the columns other than address, amount and externalId are ignored. A cell
a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is written with a leading ',
which create takes off again, so externalIds come back exactly.
`,
  'retry-failed': `Usage: payouts retry-failed <id> [--idempotency-key K]

Creates a new payout of the original's FAILED payments, once every payment is final. The default
idempotency key is derived from the payout id, so running it again returns the same retry payout.
`,
  balances: `Usage: payouts balances

The Calypso account's balances per currency.
`,
  events: `Usage: payouts events <id>

A payout's audit trail, oldest first: every state change and what caused it.
`,
  approve: `Usage: payouts approve <id>

Gives your approval to a payout the payout policy holds (PENDING_APPROVAL). Approvers are named
by the policy; the payout's creator never approves it, from any session (four-eyes). Once the
payout has every approval it needs, it goes to submission. Refusals (not an approver, your own
payout, already approved, past its deadline) exit 3 with the API's reason.
`,
  reject: `Usage: payouts reject <id> --reason TEXT

Refuses a payout awaiting approval, as one of its approvers: it ends CANCELED and nothing is sent.
--reason is required and is kept in the payout's audit trail.
`,
  cancel: `Usage: payouts cancel <id> [--reason TEXT]

Cancels a payout while nothing of it has been sent to Calypso, as its owner or one of its
approvers. Once any batch has gone to Calypso the API refuses (exit 3) and says which.
`,
  pending: `Usage: payouts pending

Lists the payouts awaiting your approval (every page of GET /approvals): never your own, nor
those you already approved. --json prints them as a JSON array.
`,
  pause: `Usage: payouts pause --reason TEXT
       payouts pause --status

Stops all submission to Calypso (operators only): payouts are still accepted and wait, and what
is already at Calypso is still tracked. Undo with payouts resume. --status only shows whether
submission is paused (as payouts paused does).
`,
  resume: `Usage: payouts resume

Starts submission to Calypso again after payouts pause (operators only).
`,
  paused: `Usage: payouts paused

Whether submission to Calypso is paused, and if so since when, by whom and why.
`,
  webhook: `Usage: payouts webhook register <url> [--request-id ID] [--secret-id ARN]

Subscribes <url> (the deployed POST /webhooks/calypso) to Calypso's PAYOUT notifications,
talking to Calypso directly with the credentials in the environment: CALYPSO_BASE_URL,
CALYPSO_PATH_PREFIX (default /api/v1), CALYPSO_API_KEY, CALYPSO_SECRET_KEY, CALYPSO_ACCOUNT.
Prints the subscription's keys and how to add them to webhookKeys in the webhook secret (the
stack output CalypsoWebhookSecretArn), which holds only webhook keys, apart from the signing key.

Options:
  --request-id ID   names the subscription (default: a new UUID); deleting it takes the same ID
  --secret-id ARN   the webhook secret, for the printed commands (default
                    $CALYPSO_WEBHOOK_SECRET_ARN; the stack output CalypsoWebhookSecretArn)
`,
};
