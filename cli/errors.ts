/**
 * One place that turns a failure into its exit status and its report, as text lines or, with
 * --json, as one JSON line on stderr (`{"error": {...}}`), so a script can tell bad input from a
 * refusal from an outage by the exit status alone and still read the details.
 */
import { CalypsoError } from '../shared/calypso/errors.js';
import { coloursFor } from './colour.js';
import { ApiProblemError, ApiUnreachableError } from './api.js';
import { EXIT, UsageError, type Output } from './context.js';
import { errorLines, fieldLine } from './render.js';
import { RecipientsFileError, type RecipientsFile } from './recipients.js';

/** Input that cannot be used, other than the command line itself (a missing setting, say). */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export type ErrorKind = 'usage' | 'input' | 'refused' | 'unavailable' | 'internal';

export interface ErrorReport {
  kind: ErrorKind;
  exitCode: number;
  /** The report as text, one entry per line. */
  lines: string[];
  /** The report as JSON. */
  json: Record<string, unknown>;
}

const MAX_PROBLEMS_SHOWN = 50;

/** What `err` means for the person running the command; `file` maps API errors to its lines. */
export function describeError(err: unknown, file?: RecipientsFile): ErrorReport {
  if (err instanceof UsageError) {
    return {
      kind: 'usage',
      exitCode: EXIT.badInput,
      lines: [err.message],
      json: { message: err.message },
    };
  }
  if (err instanceof InputError) {
    return {
      kind: 'input',
      exitCode: EXIT.badInput,
      lines: err.message.split('\n'),
      json: { message: err.message },
    };
  }
  if (err instanceof RecipientsFileError) {
    const shown = err.problems.slice(0, MAX_PROBLEMS_SHOWN);
    const count = `${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}`;
    const lines = shown.map((p) =>
      p.line === undefined ? `${err.file}: ${p.message}` : `${err.file}:${p.line}: ${p.message}`,
    );
    if (err.problems.length > shown.length)
      lines.push(`… and ${err.problems.length - shown.length} more problems`);
    lines.push(`${err.file}: ${count}; nothing was sent`);
    return {
      kind: 'input',
      exitCode: EXIT.badInput,
      lines,
      json: {
        message: `${err.file}: ${count}; nothing was sent`,
        file: err.file,
        problems: err.problems,
      },
    };
  }
  if (err instanceof ApiProblemError) {
    const { problem } = err;
    const refused = problem.status >= 400 && problem.status < 500;
    const errors = Array.isArray(problem.errors) ? problem.errors : [];
    return {
      kind: refused ? 'refused' : problem.status >= 500 ? 'unavailable' : 'internal',
      exitCode: refused ? EXIT.refused : problem.status >= 500 ? EXIT.unavailable : EXIT.failure,
      lines: errorLines(err, file),
      json: {
        message: `${problem.status} ${problem.title}`,
        ...problem,
        errors: errors.map((e) => ({ ...e, ...fieldLine(e, file) })),
        method: err.method,
        url: err.url,
        correlationId: problem.correlationId ?? err.correlationId,
      },
    };
  }
  if (err instanceof ApiUnreachableError) {
    return {
      kind: 'unavailable',
      exitCode: EXIT.unavailable,
      lines: errorLines(err),
      json: {
        message: err.message,
        url: err.url,
        reason: err.reason,
        correlationId: err.correlationId,
      },
    };
  }
  if (err instanceof CalypsoError) {
    const refused = err.httpStatus !== undefined && err.httpStatus >= 400 && err.httpStatus < 500;
    return {
      kind: refused ? 'refused' : 'unavailable',
      exitCode: refused ? EXIT.refused : EXIT.unavailable,
      lines: [err.message, ...(err.traceId ? [`  traceId ${err.traceId}`] : [])],
      json: {
        message: err.message,
        errorCode: err.errorCode,
        ...(err.httpStatus !== undefined ? { status: err.httpStatus } : {}),
        ...(err.traceId ? { traceId: err.traceId } : {}),
      },
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    kind: 'internal',
    exitCode: EXIT.failure,
    lines: [`error: ${message}`],
    json: { message },
  };
}

/** Writes the report to `stderr`; returns the exit status. */
export function reportError(
  stderr: Output,
  report: ErrorReport,
  options: { json: boolean; hint?: string; env?: Record<string, string | undefined> },
): number {
  if (options.json) {
    stderr.write(
      `${JSON.stringify({ error: { kind: report.kind, exitCode: report.exitCode, ...report.json } })}\n`,
    );
  } else {
    const hint = options.hint ? [options.hint] : [];
    const red = coloursFor(stderr, options.env ?? {}).red;
    const [headline = '', ...rest] = [...report.lines, ...hint];
    stderr.write([red(headline), ...rest].map((line) => `${line}\n`).join(''));
  }
  return report.exitCode;
}
