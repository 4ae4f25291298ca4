/**
 * The composition root for the Lambda handlers: configuration read and clients created once per
 * container, on first use. The local stack and tests may replace parts with `configureRuntime`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CalypsoClient } from './calypso/client.js';
import { loadConfig, type CalypsoCredentials, type Config } from './config.js';
import type { CreatePayoutDeps } from './payouts/create-payout.js';
import { EventBridgePublisher } from './payouts/eventbridge.js';
import { MemoryEventPublisher, type EventPublisher } from './payouts/events.js';
import type { TrackDeps } from './payouts/track.js';
import type { WebhookDeps } from './payouts/webhooks.js';
import { logger } from './observability.js';
import {
  systemClock,
  type CalypsoApi,
  type CalypsoProvider,
  type Clock,
  type SubmissionTrigger,
} from './payouts/ports.js';
import { credentialsProvider } from './secrets.js';
import { PayoutRepository } from './store/payout-repository.js';

export interface Runtime {
  config: Config;
  repository: PayoutRepository;
  calypso: CalypsoProvider;
  clock: Clock;
  trigger: SubmissionTrigger;
  events: EventPublisher;
  credentials: () => Promise<CalypsoCredentials>;
}

let current: Runtime | undefined;
let overrides: Partial<Omit<Runtime, 'config'>> = {};

/** Replaces parts of the runtime (local stack, tests); takes effect on the next `runtime()`. */
export function configureRuntime(parts: Partial<Omit<Runtime, 'config'>>): void {
  overrides = { ...overrides, ...parts };
  current = undefined;
}

export function resetRuntime(): void {
  overrides = {};
  current = undefined;
}

function lambdaTrigger(functionName: string): SubmissionTrigger {
  let lambda: LambdaClient | undefined;
  return {
    async trigger(payoutId) {
      lambda ??= new LambdaClient({});
      await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: Buffer.from(JSON.stringify({ payoutId })),
        }),
      );
    },
  };
}

const noTrigger: SubmissionTrigger = {
  trigger: (payoutId) => {
    logger.info('no submit function configured; the reconciler will submit', { payoutId });
    return Promise.resolve();
  },
};

export function runtime(): Runtime {
  if (current) return current;
  const config = loadConfig();
  const db = new DynamoDBClient(
    process.env.DYNAMODB_ENDPOINT ? { endpoint: process.env.DYNAMODB_ENDPOINT } : {},
  );
  const credentials = credentialsProvider(config.credentials, () => new SecretsManagerClient({}));
  const clock = overrides.clock ?? systemClock;
  let client: { apiKey: string; value: CalypsoApi } | undefined;
  const calypso: CalypsoProvider = async () => {
    const creds = await credentials();
    if (client?.apiKey !== creds.apiKey) {
      client = {
        apiKey: creds.apiKey,
        value: new CalypsoClient(
          {
            baseUrl: config.calypso.baseUrl,
            pathPrefix: config.calypso.pathPrefix,
            withdrawalsPath: config.calypso.withdrawalsPath,
            timeoutMs: config.calypso.timeoutMs,
            apiKey: creds.apiKey,
            secretKey: creds.secretKey,
            account: creds.account,
          },
          { now: () => clock.now().getTime() },
        ),
      };
    }
    return client.value;
  };
  current = {
    config,
    repository: new PayoutRepository(db, config.tableName),
    calypso,
    clock,
    trigger: config.submitFunctionName ? lambdaTrigger(config.submitFunctionName) : noTrigger,
    events: config.eventBusName
      ? new EventBridgePublisher(new EventBridgeClient({}), config.eventBusName)
      : new MemoryEventPublisher(),
    credentials,
    ...overrides,
  };
  return current;
}

/** What the create and retry use cases need. */
export function createDeps(rt: Runtime = runtime()): CreatePayoutDeps {
  return {
    repository: rt.repository,
    currencies: rt.config.currencies,
    clock: rt.clock,
    trigger: rt.trigger,
    calypso: rt.calypso,
    maxRecipients: rt.config.maxRecipients,
    testnetAddresses: rt.config.testnetAddresses,
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
    pollIntervalMs: rt.config.pollIntervalMs,
    firstLookAfterMs: Math.min(30_000, rt.config.pollIntervalMs),
  };
}

export function webhookDeps(rt: Runtime = runtime()): WebhookDeps {
  return {
    repository: rt.repository,
    credentials: rt.credentials,
    clock: rt.clock,
    events: rt.events,
    retentionSeconds: rt.config.webhookRetentionSeconds,
  };
}
