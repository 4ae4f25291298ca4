/**
 * What a command runs with: where output goes, where a person's answers come from, the
 * environment, the clock, the API client.
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ApiClient } from './api.js';
import type { AwsCredentials } from './sigv4.js';
import { signerForUrl } from './sigv4.js';

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Standard input, for a question to the person at the terminal. */
export interface Input {
  isTTY?: boolean;
  /** The next line typed, without its line break; undefined at the end of input. */
  readLine(): Promise<string | undefined>;
}

export interface CliIo {
  stdout: Output;
  stderr: Output;
  /** Absent: nobody to ask (as when standard input is not a terminal). */
  stdin?: Input;
  env: Record<string, string | undefined>;
  /** A file's text; `-` is standard input. */
  readText(path: string): Promise<string>;
  now(): Date;
  sleep(ms: number): Promise<void>;
  fetch?: typeof fetch;
  /** Instead of the standard AWS credential chain (tests). */
  awsCredentials?: AwsCredentials;
}

/** Exit statuses; the help text and the README's CLI section list them. */
export const EXIT = {
  ok: 0,
  /** Something unexpected: an answer the CLI cannot make sense of, or a fault of its own. */
  failure: 1,
  /** Bad input: the command line or the recipients file. Nothing was sent. */
  badInput: 2,
  /** The API (or Calypso) refused the request: a 4xx answer. */
  refused: 3,
  /** The API could not be reached, did not answer in time, or failed (5xx). */
  unavailable: 4,
  /** `get --watch`: the payout ended in a final state other than COMPLETED. */
  notCompleted: 5,
  /** `create` on a terminal: the person did not confirm the summary. Nothing was sent. */
  notConfirmed: 6,
} as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An error already reported to the user; only the exit code is left to set. */
export class ReportedError extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ReportedError';
  }
}

export interface GlobalOptions {
  apiUrl: string;
  caller?: string;
  json: boolean;
}

export class Context {
  private client: ApiClient | undefined;

  constructor(
    readonly io: CliIo,
    readonly options: GlobalOptions,
  ) {}

  get json(): boolean {
    return this.options.json;
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  err(text: string): void {
    this.io.stderr.write(text);
  }

  /**
   * A remark for the person running the command (what was detected, what was ignored): on
   * stderr, as text, or with --json as one JSON line `{"note": "..."}`, so that stdout carries
   * only the result.
   */
  note(text: string): void {
    this.err(this.json ? `${JSON.stringify({ note: text })}\n` : `${text}\n`);
  }

  /**
   * Whether a person can be asked a question: standard input and output are terminals, and the
   * output is not --json (which is for programs, and never asks).
   */
  get interactive(): boolean {
    return !this.json && this.io.stdout.isTTY === true && this.io.stdin?.isTTY === true;
  }

  /** Asks a yes/no question; only `y` or `yes` (any case) is yes, the end of input is no. */
  async confirm(question: string): Promise<boolean> {
    if (!this.io.stdin) return false;
    this.out(`${question} [y/N] `);
    const answer = await this.io.stdin.readLine();
    if (answer === undefined) this.out('\n');
    return answer !== undefined && /^\s*y(es)?\s*$/i.test(answer);
  }

  /** Writes a value as JSON on stdout. */
  printJson(value: unknown): void {
    this.out(`${JSON.stringify(value, null, 2)}\n`);
  }

  get api(): ApiClient {
    if (!this.client) {
      let url: URL;
      try {
        url = new URL(this.options.apiUrl);
      } catch {
        throw new UsageError(`--api-url is not a URL: ${JSON.stringify(this.options.apiUrl)}`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new UsageError(`--api-url must be http(s): ${this.options.apiUrl}`);
      }
      const signer = signerForUrl(url, this.io.env, this.io.awsCredentials);
      this.client = new ApiClient({
        baseUrl: this.options.apiUrl,
        ...(this.options.caller !== undefined ? { caller: this.options.caller } : {}),
        ...(signer ? { signer } : {}),
        ...(this.io.fetch ? { fetch: this.io.fetch } : {}),
        sleep: (ms) => this.io.sleep(ms),
      });
    }
    return this.client;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** One line from the process's standard input (undefined at its end), then lets go of it. */
function readLineFromStdin(): Promise<string | undefined> {
  const lines = createInterface({ input: process.stdin, terminal: false });
  return new Promise<string | undefined>((resolve) => {
    lines.once('line', (line) => resolve(line));
    lines.once('close', () => resolve(undefined));
  }).finally(() => lines.close());
}

/** The real process: its streams, environment and clock. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: { isTTY: process.stdin.isTTY === true, readLine: readLineFromStdin },
    env: process.env,
    readText: (path) => (path === '-' ? readStdin() : readFile(path, 'utf8')),
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
