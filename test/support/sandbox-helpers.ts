/**
 * Raw access to the Calypso sandbox for its own tests: signed requests built by hand with `fetch`
 * and `sign` (not the project's Calypso client), and a webhook receiver on loopback.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LosslessNumber, parse, stringify } from 'lossless-json';
import { sign } from '../../shared/calypso/signing.js';
import {
  startCalypsoSandbox,
  type CalypsoSandbox,
  type SandboxOptions,
} from '../../infra/local/calypso-sandbox/index.js';

/** 2025-01-01T00:00:00Z: a fixed start, so dates in answers are predictable. */
export const START = Date.UTC(2025, 0, 1);

export const TIMINGS = {
  withdrawalsCreatedAfterMs: 1_000,
  inProgressAfterMs: 2_000,
  completedAfterMs: 10_000,
} as const;

/** A manual-clock, seeded sandbox with short timings. */
export function startTestSandbox(options: SandboxOptions = {}): Promise<CalypsoSandbox> {
  return startCalypsoSandbox({
    seed: 7,
    clock: { mode: 'manual', startAt: START },
    timings: TIMINGS,
    webhookRetryScheduleMs: [1_000, 2_000, 4_000],
    ...options,
  });
}

/** A fixed, valid UUID per number: `uuid(1)` is `00000000-0000-4000-8000-000000000001`. */
export function uuid(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

/** A JSON number with exactly these digits in a request body. */
export function num(text: string): LosslessNumber {
  return new LosslessNumber(text);
}

/** A parsed answer. Numbers are kept as their exact text, so `"amount": 1.50` reads as `'1.50'`. */
export type Json = any;

export interface CallResult {
  status: number;
  text: string;
  json: Json;
}

export interface CallOptions {
  method?: string;
  /** Default: the sandbox's first account and its keys. */
  account?: string;
  apiKey?: string;
  secretKey?: string;
  /** Default: the sandbox's clock. */
  timestamp?: number;
  /** Send this body instead of building the envelope. */
  rawBody?: string;
  /** Send this Sign instead of signing the body. */
  sign?: string;
  contentType?: string;
  signal?: AbortSignal;
}

export function parseAnswer(text: string): Json {
  return text === '' ? undefined : parse(text, undefined, (digits) => digits);
}

/** The envelope `{timestamp, account, payload?}` as sent. */
export function envelope(sandbox: CalypsoSandbox, payload?: unknown, options: CallOptions = {}) {
  return stringify({
    timestamp: options.timestamp ?? sandbox.now(),
    account: options.account ?? sandbox.accounts[0]!.account,
    ...(payload === undefined ? {} : { payload }),
  })!;
}

/** POSTs (or `method`) a signed request to `{url}{prefix}{path}`. */
export async function call(
  sandbox: CalypsoSandbox,
  path: string,
  payload?: unknown,
  options: CallOptions = {},
): Promise<CallResult> {
  const keys = sandbox.accounts[0]!;
  const body = options.rawBody ?? envelope(sandbox, payload, options);
  const response = await fetch(`${sandbox.url}${sandbox.pathPrefix}${path}`, {
    method: options.method ?? 'POST',
    headers: {
      'Content-Type': options.contentType ?? 'application/json',
      Key: options.apiKey ?? keys.apiKey,
      Sign: options.sign ?? sign(body, options.secretKey ?? keys.secretKey),
    },
    body,
    signal: options.signal,
  });
  const text = await response.text();
  return { status: response.status, text, json: parseAnswer(text) };
}

export interface Recipient {
  depositAddress: string;
  amount: string;
  externalId?: string;
}

export function massPayoutPayload(
  idempotencyKey: string,
  recipients: Recipient[],
  extra: { currency?: string; executionDate?: string; name?: string; comment?: string } = {},
) {
  return {
    currency: extra.currency ?? 'USDT',
    name: extra.name ?? 'Sandbox test',
    comment: extra.comment ?? 'test payout',
    idempotencyKey,
    massAddresses: recipients.map((r) => ({
      depositAddress: r.depositAddress,
      amount: num(r.amount),
      ...(r.externalId === undefined ? {} : { externalId: r.externalId }),
    })),
    ...(extra.executionDate === undefined ? {} : { executionDate: extra.executionDate }),
  };
}

/** `count` recipients paying 1.5, 2.5, ...; addresses `0xaddr1`..., externalIds `ext-1`... */
export function recipients(count: number, prefix = ''): Recipient[] {
  return Array.from({ length: count }, (_, i) => ({
    depositAddress: `0x${prefix}addr${i + 1}`,
    amount: `${i + 1}.5`,
    externalId: `${prefix}ext-${i + 1}`,
  }));
}

export async function createMassPayout(
  sandbox: CalypsoSandbox,
  idempotencyKey: string,
  list: Recipient[],
  extra: Parameters<typeof massPayoutPayload>[2] = {},
): Promise<CallResult> {
  return call(sandbox, '/payout/mass/create', massPayoutPayload(idempotencyKey, list, extra));
}

/** Every withdrawal state: a listing must name the states it wants (the guide). */
export const ALL_STATES = ['DRAFT', 'IN_PROGRESS', 'COMPLETED', 'REPLACED', 'FAILED', 'CANCELED'];

/** A withdrawal listing's payload: the filter, asking for every state unless it names some. */
export function listing(filter: Record<string, unknown>): Record<string, unknown> {
  return { stateNames: ALL_STATES, ...filter };
}

/** Every withdrawal of a payout, reading page after page until a short one. */
export async function allWithdrawals(
  sandbox: CalypsoSandbox,
  filter: Record<string, unknown>,
  size = 50,
): Promise<Json[]> {
  const all: Json[] = [];
  for (let page = 0; ; page++) {
    const answer = await call(
      sandbox,
      '/payout/withdrawal/all',
      listing({ ...filter, page, size }),
    );
    if (answer.status !== 200) throw new Error(`withdrawals: ${answer.status} ${answer.text}`);
    all.push(...(answer.json.result as Json[]));
    if (answer.json.result.length < size) return all;
  }
}

export interface ReceivedWebhook {
  key: string | undefined;
  sign: string | undefined;
  contentType: string | undefined;
  body: string;
  json: Json;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** The HTTP status to answer the next deliveries with (default 200). */
  respondWith(status: number): void;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that records every POST and answers 200 (or as told). */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let status = 200;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({
        key: request.headers.key as string | undefined,
        sign: request.headers.sign as string | undefined,
        contentType: request.headers['content-type'],
        body,
        json: parseAnswer(body),
      });
      response.writeHead(status, { 'Content-Type': 'text/plain' });
      response.end(status === 200 ? 'ok' : 'not now');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/calypso`,
    received,
    respondWith: (next) => {
      status = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function subscribe(
  sandbox: CalypsoSandbox,
  url: string,
  requestId = uuid(900),
  types: { notificationEventTypes?: string[]; notificationServiceTypes?: string[] } = {
    notificationServiceTypes: ['PAYOUT'],
  },
): Promise<{ requestId: string; publicKey: string; secretKey: string }> {
  const answer = await call(sandbox, '/subscription/webhook/create', { requestId, url, ...types });
  if (answer.status !== 200) throw new Error(`subscribe: ${answer.status} ${answer.text}`);
  return answer.json;
}
