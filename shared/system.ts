/**
 * The composition root: checked configuration and the adapters chosen at the edge make the
 * system, and the system gives each use case what it needs. Nothing here is global or read from
 * the environment. A Lambda handler (functions/*.ts) builds a system once per container from only
 * the ports its use cases call, so its bundle carries only those adapters; the local stack builds
 * one with every port for all the handlers (infra/local/system.ts).
 */
import type { Config } from './config.js';
import { SERVICE_DEFAULTS } from './defaults.js';
import { AccessPolicy } from './domain/identity.js';
import { PayoutPolicy } from './domain/policy.js';
import type { EventPublisher } from './payouts/events.js';
import type { FundsSettings } from './payouts/funds-check.js';
import {
  systemClock,
  type CalypsoProvider,
  type Clock,
  type SubmissionTrigger,
  type WebhookApplyTrigger,
  type WebhookKeySource,
} from './payouts/ports.js';
import type { RetryFailedDeps } from './payouts/retry-failed.js';
import type { TrackDeps } from './payouts/track.js';
import type { WebhookDeps } from './payouts/webhooks.js';
import type { PayoutRepository } from './store/payout-repository.js';

/** The adapters a system is made of; a handler gives only those its use cases call. */
export interface Ports {
  repository: PayoutRepository;
  calypso: CalypsoProvider;
  clock: Clock;
  /** Hands an accepted payout to submission. */
  trigger: SubmissionTrigger;
  /** Applies stored webhook events after the answer. */
  applyWebhook: WebhookApplyTrigger;
  events: EventPublisher;
  webhookKeys: WebhookKeySource;
}

/** What every system has: its configuration, the policies made from it, and a clock. */
export interface Core {
  config: Config;
  access: AccessPolicy;
  policy: PayoutPolicy;
  clock: Clock;
}

/** A system with the ports `P` (all of them by default). */
export type System<P extends keyof Ports = keyof Ports> = Core & Pick<Ports, P>;

/** The system of `config` and the given ports; the clock is the system's own unless given. */
export function createSystem<P extends Partial<Ports>>(config: Config, ports: P): Core & P {
  const access = new AccessPolicy(config.access);
  return {
    config,
    access,
    policy: new PayoutPolicy(config.policy, access),
    clock: systemClock,
    ...ports,
  };
}

/** What the create and retry use cases need. */
export function createDeps(
  system: System<'repository' | 'events' | 'trigger' | 'calypso'>,
): RetryFailedDeps {
  return {
    repository: system.repository,
    access: system.access,
    policy: system.policy,
    events: system.events,
    currencies: system.config.currencies,
    clock: system.clock,
    trigger: system.trigger,
    calypso: system.calypso,
    maxRecipients: system.config.maxRecipients,
    executionDateHorizonDays: system.config.executionDateHorizonDays,
    testnetAddresses: system.config.testnetAddresses,
    singlePayoutMax: system.config.singlePayoutMax,
    funds: fundsSettings(system.config),
    writeLeaseMs: SERVICE_DEFAULTS.createWriteLeaseMs,
  };
}

/** What submission and tracking need. */
export function trackDeps(system: System<'repository' | 'calypso' | 'events'>): TrackDeps {
  return {
    repository: system.repository,
    calypso: system.calypso,
    clock: system.clock,
    events: system.events,
    leaseMs: system.config.submissionLeaseMs,
    concurrency: system.config.submitConcurrency,
    stuckAfterMs: system.config.stuckAfterMs,
    confirmationStuckAfterMs: system.config.confirmationStuckAfterMs,
    pollIntervalMs: system.config.pollIntervalMs,
    firstLookAfterMs: Math.min(30_000, system.config.pollIntervalMs),
    funds: fundsSettings(system.config),
  };
}

/** The funds check before sending: the same estimate for submission and the dry run. */
function fundsSettings(config: Config): FundsSettings {
  return { currencies: config.currencies, ...config.funds, recheckMs: config.pollIntervalMs };
}

/** What receiving a webhook needs. */
export function webhookDeps(
  system: System<'repository' | 'webhookKeys' | 'applyWebhook'>,
): WebhookDeps {
  return {
    repository: system.repository,
    webhookKeys: system.webhookKeys,
    clock: system.clock,
    apply: system.applyWebhook,
    retentionSeconds: system.config.webhookRetentionSeconds,
  };
}
