/**
 * The system in one test process: a fresh table on DynamoDB Local, the Calypso sandbox on a
 * manual clock that our code shares, the same handlers behind the local HTTP API, Calypso's
 * webhooks subscribed to it, and submission and the applying of stored webhooks run in-process.
 */
import { randomUUID } from 'node:crypto';
import { CalypsoClient } from '../../shared/calypso/client.js';
import { submitPayout } from '../../shared/payouts/submit.js';
import { reconcileTick, type TickSummary } from '../../shared/payouts/track.js';
import { MemoryEventPublisher } from '../../shared/payouts/events.js';
import { configureRuntime, resetRuntime, runtime, trackDeps } from '../../shared/runtime.js';
import { startLocalApi, type LocalApi } from '../../infra/local/api-server.js';
import { inProcessApply } from '../../infra/local/apply-in-process.js';
import {
  startCalypsoSandbox,
  type CalypsoSandbox,
  type SandboxOptions,
} from '../../infra/local/calypso-sandbox/index.js';
import { createTestTable } from './dynamo.js';

export interface TestStack {
  api: LocalApi;
  sandbox: CalypsoSandbox;
  tableName: string;
  events: MemoryEventPublisher;
  /** Submissions and webhook applies handed off by the API and not yet finished. */
  settle(): Promise<void>;
  /** Moves the shared clock (and Calypso's lifecycle and webhooks) forward, then lets submissions finish. */
  advance(ms: number): Promise<void>;
  reconcile(): Promise<TickSummary>;
  /** Whether accepted payouts are handed to submission (off: as if the process died right after storing). */
  setAutoSubmit(on: boolean): void;
  /** Whether stored webhook events are applied after the answer (off: as if the worker died). */
  setAutoApply(on: boolean): void;
  /** Applies that failed (a failed async invocation: retried, then the reconciler's). */
  applyFailures: unknown[];
  request(
    method: string,
    path: string,
    options?: { body?: unknown; headers?: Record<string, string> },
  ): Promise<{
    status: number;
    headers: Headers;
    body: any;
  }>;
  close(): Promise<void>;
}

export async function startTestStack(
  options: {
    sandbox?: SandboxOptions;
    env?: Record<string, string>;
    subscribeWebhooks?: boolean;
    autoSubmit?: boolean;
  } = {},
): Promise<TestStack> {
  const { tableName, endpoint } = await createTestTable('stack');
  const sandbox = await startCalypsoSandbox({
    clock: { mode: 'manual' },
    seed: 7,
    webhookRetryScheduleMs: [1000, 2000, 4000],
    ...options.sandbox,
  });
  const account = sandbox.accounts[0]!;
  const api = await startLocalApi();
  const env: Record<string, string> = {
    TABLE_NAME: tableName,
    DYNAMODB_ENDPOINT: endpoint,
    CALYPSO_BASE_URL: sandbox.url,
    CALYPSO_PATH_PREFIX: sandbox.pathPrefix,
    CALYPSO_API_KEY: account.apiKey,
    CALYPSO_SECRET_KEY: account.secretKey,
    CALYPSO_ACCOUNT: account.account,
    CALYPSO_TIMEOUT_MS: '2000',
    POLL_INTERVAL_MS: '60000',
    // Most tests are about mass payouts, whatever their size; single-payout tests set it.
    SINGLE_PAYOUT_MAX: '0',
    ...options.env,
  };
  const clock = { now: () => new Date(sandbox.now()) };
  if (options.subscribeWebhooks !== false) {
    const client = new CalypsoClient(
      { baseUrl: sandbox.url, pathPrefix: sandbox.pathPrefix, ...account },
      { now: () => sandbox.now() },
    );
    const sub = await client.createWebhookSubscription({
      requestId: randomUUID(),
      url: `${api.url}/webhooks/calypso`,
    });
    env.CALYPSO_WEBHOOK_PUBLIC_KEY = sub.publicKey!;
    env.CALYPSO_WEBHOOK_SECRET_KEY = sub.secretKey!;
  }
  Object.assign(process.env, env);
  const pending = new Set<Promise<unknown>>();
  let autoSubmit = options.autoSubmit !== false;
  const events = new MemoryEventPublisher();
  const applyFailures: unknown[] = [];
  const applies = inProcessApply((err) => applyFailures.push(err));
  resetRuntime();
  configureRuntime({
    clock,
    events,
    applyWebhook: applies.trigger,
    trigger: {
      trigger: (payoutId) => {
        if (!autoSubmit) return Promise.resolve();
        const run = submitPayout(trackDeps(), payoutId).finally(() => pending.delete(run));
        pending.add(run);
        return Promise.resolve();
      },
    },
  });
  runtime();

  const settle = async () => {
    while (pending.size || applies.pending.size)
      await Promise.allSettled([...pending, ...applies.pending]);
  };
  return {
    api,
    sandbox,
    tableName,
    events,
    settle,
    advance: async (ms) => {
      await settle();
      await sandbox.advance(ms);
      await settle();
    },
    reconcile: () => reconcileTick(trackDeps(), { remainingMs: () => 60_000 }),
    setAutoSubmit: (on) => {
      autoSubmit = on;
    },
    setAutoApply: (on) => applies.setEnabled(on),
    applyFailures,
    request: async (method, path, { body, headers = {} } = {}) => {
      const res = await fetch(`${api.url}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined
          ? { body: typeof body === 'string' ? body : JSON.stringify(body) }
          : {}),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, headers: res.headers, body: parsed };
    },
    close: async () => {
      await settle();
      await api.close();
      await sandbox.close();
      resetRuntime();
    },
  };
}
