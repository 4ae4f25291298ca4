/**
 * The local wiring, one for `npm start`, the test stacks and the benchmark: the configuration
 * checked once from the settings given (named as the functions' environment names them), the
 * table on DynamoDB Local, Calypso signed with the keys of those settings, domain events kept in
 * memory, the same handlers behind the local HTTP API, Calypso's webhooks subscribed to it, and
 * submission and the applying of stored webhooks run in this process, as the async invokes run
 * them on AWS. Each part can be replaced: the fault stack wraps Calypso and the repository, the
 * benchmark counts DynamoDB requests and brings its own triggers.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CalypsoClient } from '../../shared/calypso/client.js';
import { signingCalypso } from '../../shared/calypso/provider.js';
import { ConfigError, loadConfig, type Config, type WebhookKey } from '../../shared/config.js';
import { MemoryEventPublisher, type EventPublisher } from '../../shared/payouts/events.js';
import {
  systemClock,
  type CalypsoProvider,
  type Clock,
  type SubmissionTrigger,
  type WebhookApplyTrigger,
} from '../../shared/payouts/ports.js';
import { submitPayout } from '../../shared/payouts/submit.js';
import { reconcileTick, type TickOptions, type TickSummary } from '../../shared/payouts/track.js';
import { applyWebhookEvent } from '../../shared/payouts/webhooks.js';
import { sdkClientSettings } from '../../shared/aws/client.js';
import { credentialsProvider, webhookKeySource } from '../../shared/secrets.js';
import { PayoutRepository } from '../../shared/store/payout-repository.js';
import { createSystem, trackDeps, type Ports, type System } from '../../shared/system.js';
import { startLocalApi, type LocalApi } from './api-server.js';
import { inProcessApply, type InProcessApply } from './apply-in-process.js';
import { inProcessSubmit } from './submit-in-process.js';

export interface LocalSystemOptions {
  /** TABLE_NAME, CALYPSO_BASE_URL, CALYPSO_API_KEY, POLL_INTERVAL_MS...: checked by loadConfig. */
  settings: Record<string, string | undefined>;
  /** DynamoDB Local: its endpoint (a client is made and closed with the system), or a client. */
  dynamo: { endpoint: string } | { client: DynamoDBClient };
  /** The local API, on this port (absent or 0: a free one); false: none, the caller serves it. */
  api?: { port?: number } | false;
  /** Subscribes the API's webhook route at the configured Calypso and verifies with its keys. */
  subscribeWebhooks?: boolean;
  clock?: Clock;
  /** Where domain events go; by default kept in memory (`events` of the result). */
  events?: EventPublisher;
  /** The Calypso the system calls; by default the signing client of the configuration. */
  calypso?: (config: Config, clock: Clock) => CalypsoProvider;
  /** Where accepted payouts go; by default submitted in this process. */
  trigger?: SubmissionTrigger;
  /** Where stored webhook events go; by default applied in this process. */
  applyWebhook?: WebhookApplyTrigger;
  /** Whether accepted payouts are submitted in this process at once (default true). */
  autoSubmit?: boolean;
  /** A submission in this process that failed (a failed async invoke); by default logged. */
  onSubmitError?: (err: unknown) => void;
  /** An apply in this process that failed; by default logged. */
  onApplyError?: (err: unknown) => void;
}

export interface LocalSystem {
  config: Config;
  /** The system as it is now: the one the API serves and the in-process work uses. */
  system(): System;
  /** The local API, unless `api: false`. */
  api: LocalApi | undefined;
  /** The webhook subscription's keys, when `subscribeWebhooks`. */
  webhookKeys: WebhookKey | undefined;
  /** The in-memory events, unless `events` was given. */
  events: MemoryEventPublisher | undefined;
  /** Rebuilds the system with these ports in place of its own (the next request uses them). */
  replace(ports: Partial<Ports>): void;
  setAutoSubmit(on: boolean): void;
  applies: InProcessApply;
  /** Waits for the submissions and applies handed off and not yet finished. */
  settle(): Promise<void>;
  /** One reconciler tick (60 s of time left by default). */
  reconcile(options?: TickOptions): Promise<TickSummary>;
  /** Settles, then stops the API and closes the DynamoDB client it made. */
  close(): Promise<void>;
}

export async function startLocalSystem(options: LocalSystemOptions): Promise<LocalSystem> {
  const loaded = loadConfig(options.settings);
  const clock = options.clock ?? systemClock;
  let system: System | undefined;
  const current = () => {
    if (!system) throw new Error('the local system is not built yet');
    return system;
  };

  const api =
    options.api === false ? undefined : await startLocalApi({ ...options.api, system: current });
  let webhookKeys: WebhookKey | undefined;
  if (options.subscribeWebhooks) {
    if (!api) throw new Error('subscribing webhooks needs the local API');
    webhookKeys = await subscribeWebhooks(loaded, clock, `${api.url}/webhooks/calypso`).catch(
      async (err: unknown) => {
        await api.close();
        throw err;
      },
    );
  }
  const config: Config = webhookKeys
    ? { ...loaded, webhookKeys: { source: 'environment', value: [webhookKeys] } }
    : loaded;

  const ownDb =
    'endpoint' in options.dynamo
      ? new DynamoDBClient({ ...sdkClientSettings, ...options.dynamo })
      : undefined;
  const db = ownDb ?? (options.dynamo as { client: DynamoDBClient }).client;

  const submissions = inProcessSubmit(
    (payoutId) => submitPayout(trackDeps(current()), payoutId),
    options.onSubmitError,
    options.autoSubmit !== false,
  );
  const applies = inProcessApply(
    ({ eventId, providerKey }) => applyWebhookEvent(trackDeps(current()), eventId, providerKey),
    options.onApplyError,
  );
  const events = options.events ? undefined : new MemoryEventPublisher();

  let ports: Ports = {
    repository: new PayoutRepository(db, config.tableName),
    calypso: options.calypso
      ? options.calypso(config, clock)
      : signingCalypso(config.calypso, credentialsProvider(config.credentials), clock),
    clock,
    trigger: options.trigger ?? submissions.trigger,
    applyWebhook: options.applyWebhook ?? applies.trigger,
    events: options.events ?? events!,
    webhookKeys: webhookKeySource(config.webhookKeys),
  };
  system = createSystem(config, ports);

  const settle = async () => {
    while (submissions.pending.size || applies.pending.size)
      await Promise.allSettled([...submissions.pending, ...applies.pending]);
  };
  return {
    config,
    system: current,
    api,
    webhookKeys,
    events,
    replace: (parts) => {
      ports = { ...ports, ...parts };
      system = createSystem(config, ports);
    },
    setAutoSubmit: (on) => submissions.setEnabled(on),
    applies,
    settle,
    reconcile: (tick = { remainingMs: () => 60_000 }) => reconcileTick(trackDeps(current()), tick),
    close: async () => {
      await settle();
      await api?.close();
      ownDb?.destroy();
    },
  };
}

/** Subscribes `url` at the configured Calypso, as an operator does once at Calypso. */
async function subscribeWebhooks(config: Config, clock: Clock, url: string): Promise<WebhookKey> {
  if (config.credentials.source !== 'environment') {
    throw new ConfigError([
      'subscribing webhooks locally needs CALYPSO_API_KEY, CALYPSO_SECRET_KEY and CALYPSO_ACCOUNT',
    ]);
  }
  const client = new CalypsoClient(
    {
      baseUrl: config.calypso.baseUrl,
      pathPrefix: config.calypso.pathPrefix,
      ...config.credentials.value,
    },
    { now: () => clock.now().getTime() },
  );
  const subscription = await client.createWebhookSubscription({ requestId: randomUUID(), url });
  return { publicKey: subscription.publicKey!, secretKey: subscription.secretKey! };
}
