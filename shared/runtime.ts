/**
 * The composition root for the Lambda handlers: configuration read and clients created once per
 * container, on first use. The local stack and tests may replace parts with `configureRuntime`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CalypsoClient } from './calypso/client.js';
import { instrumentCalypso } from './calypso/instrumented.js';
import { loadConfig, type CalypsoCredentials, type Config } from './config.js';
import { AccessPolicy } from './domain/identity.js';
import { PayoutPolicy } from './domain/policy.js';
import type { RetryFailedDeps } from './payouts/retry-failed.js';
import { MemoryEventPublisher, type EventPublisher } from './payouts/events.js';
import type { FundsSettings } from './payouts/funds-check.js';
import type { TrackDeps } from './payouts/track.js';
import type { WebhookDeps } from './payouts/webhooks.js';
import { logger } from './observability.js';
import {
  systemClock,
  type CalypsoApi,
  type CalypsoProvider,
  type Clock,
  type SubmissionTrigger,
  type WebhookApplyTrigger,
  type WebhookKeySource,
} from './payouts/ports.js';
import { credentialsProvider, webhookKeySource } from './secrets.js';
import { PayoutRepository } from './store/payout-repository.js';

export interface Runtime {
  config: Config;
  access: AccessPolicy;
  policy: PayoutPolicy;
  repository: PayoutRepository;
  calypso: CalypsoProvider;
  clock: Clock;
  trigger: SubmissionTrigger;
  /** Applies stored webhook events after the answer. */
  applyWebhook: WebhookApplyTrigger;
  events: EventPublisher;
  credentials: () => Promise<CalypsoCredentials>;
  webhookKeys: WebhookKeySource;
}

/**
 * The AWS services a function uses beyond DynamoDB. Each handler registers only the adapters it
 * needs (`useAwsAdapters`), so a bundle carries only those SDK clients.
 */
export interface AwsAdapters {
  readSecret?: (secretId: string) => Promise<string>;
  submitTrigger?: (functionName: string) => SubmissionTrigger;
  applyTrigger?: (functionName: string) => WebhookApplyTrigger;
  eventBus?: (busName: string) => EventPublisher;
  /** Calypso reduced to reading balances through the get-balances function. */
  balancesFunction?: (functionName: string) => CalypsoApi;
}

let current: Runtime | undefined;
let overrides: Partial<Omit<Runtime, 'config'>> = {};
let adapters: AwsAdapters = {};

export function useAwsAdapters(more: AwsAdapters): void {
  adapters = { ...adapters, ...more };
  current = undefined;
}

/** Replaces parts of the runtime (local stack, tests); takes effect on the next `runtime()`. */
export function configureRuntime(parts: Partial<Omit<Runtime, 'config'>>): void {
  overrides = { ...overrides, ...parts };
  current = undefined;
}

export function resetRuntime(): void {
  overrides = {};
  current = undefined;
}

const noTrigger: SubmissionTrigger = {
  trigger: (payoutId) => {
    logger.info('no submit function configured; the reconciler will submit', { payoutId });
    return Promise.resolve();
  },
};

const noApply: WebhookApplyTrigger = {
  trigger: (eventId) => {
    logger.info('no apply function configured; the reconciler will apply', { eventId });
    return Promise.resolve();
  },
};

export function runtime(): Runtime {
  if (current) return current;
  const config = loadConfig();
  const db = new DynamoDBClient(
    process.env.DYNAMODB_ENDPOINT ? { endpoint: process.env.DYNAMODB_ENDPOINT } : {},
  );
  const credentials = credentialsProvider(config.credentials, adapters.readSecret);
  const clock = overrides.clock ?? systemClock;
  let client: { apiKey: string; value: CalypsoApi } | undefined;
  const signing: CalypsoProvider = async () => {
    const creds = await credentials();
    if (client?.apiKey !== creds.apiKey) {
      client = {
        apiKey: creds.apiKey,
        value: instrumentCalypso(
          new CalypsoClient(
            {
              baseUrl: config.calypso.baseUrl,
              pathPrefix: config.calypso.pathPrefix,
              withdrawalsPath: config.calypso.withdrawalsPath,
              timeoutMs: config.calypso.timeoutMs,
              firstPage: config.calypso.firstPage,
              apiKey: creds.apiKey,
              secretKey: creds.secretKey,
              account: creds.account,
            },
            { now: () => clock.now().getTime() },
          ),
        ),
      };
    }
    return client.value;
  };
  const access = new AccessPolicy(config.access);
  // Without the signing key of its own, a function that may read balances reads them there.
  const balancesOnly =
    config.credentials.source === 'none' && config.balancesFunctionName && adapters.balancesFunction
      ? adapters.balancesFunction(config.balancesFunctionName)
      : undefined;
  const calypso: CalypsoProvider = balancesOnly ? () => Promise.resolve(balancesOnly) : signing;
  current = {
    config,
    access,
    policy: new PayoutPolicy(config.policy, access),
    repository: new PayoutRepository(db, config.tableName),
    calypso,
    clock,
    trigger:
      config.submitFunctionName && adapters.submitTrigger
        ? adapters.submitTrigger(config.submitFunctionName)
        : noTrigger,
    applyWebhook:
      config.applyWebhookFunctionName && adapters.applyTrigger
        ? adapters.applyTrigger(config.applyWebhookFunctionName)
        : noApply,
    events:
      config.eventBusName && adapters.eventBus
        ? adapters.eventBus(config.eventBusName)
        : new MemoryEventPublisher(),
    credentials,
    webhookKeys: webhookKeySource(config.webhookKeys, adapters.readSecret),
    ...overrides,
  };
  return current;
}

/** What the create and retry use cases need. */
export function createDeps(rt: Runtime = runtime()): RetryFailedDeps {
  return {
    repository: rt.repository,
    access: rt.access,
    policy: rt.policy,
    events: rt.events,
    currencies: rt.config.currencies,
    clock: rt.clock,
    trigger: rt.trigger,
    calypso: rt.calypso,
    maxRecipients: rt.config.maxRecipients,
    executionDateHorizonDays: rt.config.executionDateHorizonDays,
    testnetAddresses: rt.config.testnetAddresses,
    singlePayoutMax: rt.config.singlePayoutMax,
    funds: fundsSettings(rt),
    writeLeaseMs: 60_000,
  };
}

/** What submission and tracking need. */
export function trackDeps(rt: Runtime = runtime()): TrackDeps {
  return {
    repository: rt.repository,
    calypso: rt.calypso,
    clock: rt.clock,
    events: rt.events,
    leaseMs: rt.config.submissionLeaseMs,
    concurrency: rt.config.submitConcurrency,
    stuckAfterMs: rt.config.stuckAfterMs,
    confirmationStuckAfterMs: rt.config.confirmationStuckAfterMs,
    pollIntervalMs: rt.config.pollIntervalMs,
    firstLookAfterMs: Math.min(30_000, rt.config.pollIntervalMs),
    funds: fundsSettings(rt),
  };
}

function fundsSettings(rt: Runtime): FundsSettings {
  return {
    currencies: rt.config.currencies,
    ...rt.config.funds,
    recheckMs: rt.config.pollIntervalMs,
  };
}

export function webhookDeps(rt: Runtime = runtime()): WebhookDeps {
  return {
    repository: rt.repository,
    webhookKeys: rt.webhookKeys,
    clock: rt.clock,
    apply: rt.applyWebhook,
    retentionSeconds: rt.config.webhookRetentionSeconds,
  };
}
