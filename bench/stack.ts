/**
 * The system in the benchmark's process, on the local stack's wiring (infra/local/system.ts):
 * the repository uses the benchmark's counting DynamoDB client, and the local API (started once
 * for every figure) serves the system of the figure that runs. Each figure calls `configure` with
 * its own table, Calypso endpoint, clock and trigger.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startLocalSystem } from '../infra/local/system.js';
import type { EventPublisher } from '../shared/payouts/events.js';
import type { Clock, SubmissionTrigger, WebhookApplyTrigger } from '../shared/payouts/ports.js';
import type { System } from '../shared/system.js';
import type { RequestCounter } from './dynamo.js';

/** What every figure shares: DynamoDB Local and the local API, started once. */
export interface BenchContext {
  dynamoEndpoint: string;
  /** DynamoDB Local's JVM, for the CPU it spends. */
  dynamoPid: number;
  db: DynamoDBClient;
  counter: RequestCounter;
  /** The local API's base URL (the same handlers as the deployed stack). */
  apiUrl: string;
  /** The system the local API serves and the figure uses (the last `configure`'s). */
  system(): System;
  /** Makes `system` the one served (none: between figures). */
  serve(system: System | undefined): void;
  progress(line: string): void;
}

/** Webhook keys for figures that sign events themselves. */
export const BENCH_WEBHOOK_KEYS = {
  publicKey: 'bench-webhook-public-key',
  secretKey: 'bench-webhook-secret-key',
};

export const noEvents: EventPublisher = { publish: () => Promise.resolve() };
export const noTrigger: SubmissionTrigger = { trigger: () => Promise.resolve() };

export interface StackSettings {
  tableName: string;
  /** The Calypso API (the sandbox); figures that never call Calypso leave it out. */
  calypso?: { url: string; pathPrefix: string; apiKey: string; secretKey: string; account: string };
  webhookKeys?: { publicKey: string; secretKey: string };
  clock?: Clock;
  trigger?: SubmissionTrigger;
  /** Applies stored webhook events after the answer (the local stack's in-process apply). */
  applyWebhook?: WebhookApplyTrigger;
  events?: EventPublisher;
  env?: Record<string, string>;
}

export async function configure(ctx: BenchContext, settings: StackSettings): Promise<System> {
  const calypso = settings.calypso ?? {
    // Never called by the figures that leave Calypso out; the configuration needs a URL.
    url: 'http://127.0.0.1:9',
    pathPrefix: '/api/v1',
    apiKey: 'unused',
    secretKey: 'unused',
    account: 'unused',
  };
  const keys = settings.webhookKeys ?? BENCH_WEBHOOK_KEYS;
  const local = await startLocalSystem({
    settings: {
      TABLE_NAME: settings.tableName,
      CALYPSO_BASE_URL: calypso.url,
      CALYPSO_PATH_PREFIX: calypso.pathPrefix,
      CALYPSO_API_KEY: calypso.apiKey,
      CALYPSO_SECRET_KEY: calypso.secretKey,
      CALYPSO_ACCOUNT: calypso.account,
      CALYPSO_WEBHOOK_PUBLIC_KEY: keys.publicKey,
      CALYPSO_WEBHOOK_SECRET_KEY: keys.secretKey,
      ...settings.env,
    },
    dynamo: { client: ctx.db },
    api: false,
    events: settings.events ?? noEvents,
    trigger: settings.trigger ?? noTrigger,
    ...(settings.applyWebhook ? { applyWebhook: settings.applyWebhook } : {}),
    ...(settings.clock ? { clock: settings.clock } : {}),
  });
  ctx.serve(local.system());
  return local.system();
}

/** A JSON request to the local API. */
export async function request(
  ctx: BenchContext,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${ctx.apiUrl}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}
