/**
 * `payouts`: the command-line client of the payouts API. `main` runs one command line and
 * returns the exit status; `runCli` wires it to the real process.
 */
import { pathToFileURL } from 'node:url';
import {
  approveCommand,
  cancelCommand,
  pauseCommand,
  pausedCommand,
  pendingCommand,
  rejectCommand,
  resumeCommand,
} from './commands/controls.js';
import { createCommand } from './commands/create.js';
import { getCommand } from './commands/get.js';
import { listCommand } from './commands/list.js';
import { balancesCommand, eventsCommand, retryFailedCommand } from './commands/simple.js';
import { webhookCommand } from './commands/webhook.js';
import { withdrawalsCommand } from './commands/withdrawals.js';
import { Context, EXIT, processIo, ReportedError, UsageError, type CliIo } from './context.js';
import {
  COMMAND_HELP,
  parseCommandLine,
  USAGE,
  VERSION,
  type Command,
  type ParsedCommandLine,
} from './options.js';
import { describeError, reportError } from './errors.js';

const COMMAND_RUNNERS: Record<Command, (ctx: Context, cmd: ParsedCommandLine) => Promise<number>> =
  {
    create: createCommand,
    get: getCommand,
    list: listCommand,
    withdrawals: withdrawalsCommand,
    'retry-failed': retryFailedCommand,
    balances: balancesCommand,
    events: eventsCommand,
    webhook: webhookCommand,
    approve: approveCommand,
    reject: rejectCommand,
    cancel: cancelCommand,
    pending: pendingCommand,
    pause: pauseCommand,
    resume: resumeCommand,
    paused: pausedCommand,
  };

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let cmd: ParsedCommandLine;
  try {
    cmd = parseCommandLine(argv, io.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    // The command line did not parse, so --json is looked for by hand.
    const report = describeError(err);
    report.lines = [`payouts: ${err.message}`];
    return reportError(io.stderr, report, {
      json: argv.includes('--json'),
      env: io.env,
      hint: 'Run payouts --help for usage.',
    });
  }
  if (cmd.version) {
    io.stdout.write(`payouts ${VERSION}\n`);
    return EXIT.ok;
  }
  if (cmd.command === undefined) {
    (cmd.help ? io.stdout : io.stderr).write(USAGE);
    return cmd.help ? EXIT.ok : EXIT.badInput;
  }
  if (cmd.help) {
    io.stdout.write(COMMAND_HELP[cmd.command]);
    return EXIT.ok;
  }
  const ctx = new Context(io, cmd.global);
  try {
    return await COMMAND_RUNNERS[cmd.command](ctx, cmd);
  } catch (err) {
    if (err instanceof ReportedError) return err.exitCode;
    const report = describeError(err);
    if (report.kind === 'usage') report.lines = [`payouts ${cmd.command}: ${report.lines[0]}`];
    return reportError(io.stderr, report, {
      json: ctx.json,
      env: io.env,
      ...(report.kind === 'usage' ? { hint: `Run payouts ${cmd.command} --help for usage.` } : {}),
    });
  }
}

/** Runs the command line of this process and exits with its status. */
export async function runCli(): Promise<void> {
  // Output piped into `head` and closed early is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
  process.once('SIGINT', () => {
    // Leave the terminal on a fresh line after an in-place progress bar.
    if (process.stdout.isTTY) process.stdout.write('\n');
    process.exit(130);
  });
  const code = await main(process.argv.slice(2), processIo());
  process.exitCode = code;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runCli();
}
