/** What a command runs with: where output goes, the environment, the clock, the API client. */
import { readFile } from 'node:fs/promises';
import { ApiClient } from './api.js';
import type { AwsCredentials } from './sigv4.js';
import { signerForUrl } from './sigv4.js';

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  stdout: Output;
  stderr: Output;
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

/** The real process: its streams, environment and clock. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    readText: (path) => (path === '-' ? readStdin() : readFile(path, 'utf8')),
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
