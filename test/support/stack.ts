/**
 * The system in one test process, on the local wiring (infra/local/system.ts): a fresh table on
 * DynamoDB Local, the Calypso sandbox on a manual clock that our code shares, the same handlers
 * behind the local HTTP API, Calypso's webhooks subscribed to it, and submission and the applying
 * of stored webhooks run in-process.
 */
import type { Config, WebhookKey } from '../../shared/config.js';
import type { MemoryEventPublisher } from '../../shared/payouts/events.js';
import type { CalypsoProvider, Clock } from '../../shared/payouts/ports.js';
import type { TickSummary } from '../../shared/payouts/track.js';
import type { System } from '../../shared/system.js';
import type { LocalApi } from '../../infra/local/api-server.js';
import {
  startCalypsoSandbox,
  type CalypsoSandbox,
  type SandboxOptions,
} from '../../infra/local/calypso-sandbox/index.js';
import { startLocalSystem, type LocalSystem } from '../../infra/local/system.js';
import { createTestTable } from './dynamo.js';

export interface TestStack {
  api: LocalApi;
  sandbox: CalypsoSandbox;
  tableName: string;
  /** DynamoDB Local's endpoint. */
  endpoint: string;
  events: MemoryEventPublisher;
  /** The running system: what the API serves and the in-process work uses. */
  system(): System;
  /** The local wiring the stack runs on. */
  local: LocalSystem;
  /** The webhook subscription's keys (absent when `subscribeWebhooks` is false). */
  webhookKeys: WebhookKey | undefined;
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
    /** Settings over the stack's own, as the functions' environment names them. */
    env?: Record<string, string>;
    subscribeWebhooks?: boolean;
    autoSubmit?: boolean;
    /** The Calypso the system calls, in place of the signing client of the configuration. */
    calypso?: (config: Config, clock: Clock) => CalypsoProvider;
    /** A submission handed off by the API that failed; by default it fails the test. */
    onSubmitError?: (err: unknown) => void;
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
  const applyFailures: unknown[] = [];
  const local = await startLocalSystem({
    settings: {
      TABLE_NAME: tableName,
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
    },
    dynamo: { endpoint },
    subscribeWebhooks: options.subscribeWebhooks !== false,
    clock: { now: () => new Date(sandbox.now()) },
    autoSubmit: options.autoSubmit !== false,
    onSubmitError:
      options.onSubmitError ??
      ((err) => {
        // As an unhandled rejection, which fails the test.
        throw err;
      }),
    onApplyError: (err) => applyFailures.push(err),
    ...(options.calypso ? { calypso: options.calypso } : {}),
  });

  return {
    api: local.api!,
    sandbox,
    tableName,
    endpoint,
    events: local.events!,
    system: local.system,
    local,
    webhookKeys: local.webhookKeys,
    settle: local.settle,
    advance: async (ms) => {
      await local.settle();
      await sandbox.advance(ms);
      await local.settle();
    },
    reconcile: () => local.reconcile({ remainingMs: () => 60_000 }),
    setAutoSubmit: (on) => local.setAutoSubmit(on),
    setAutoApply: (on) => local.applies.setEnabled(on),
    applyFailures,
    request: async (method, path, { body, headers = {} } = {}) => {
      const res = await fetch(`${local.api!.url}${path}`, {
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
      await local.close();
      await sandbox.close();
    },
  };
}
