/**
 * Recording transitions: the payout's derived state is stored (only by the writer that moves it
 * first, so each change is recorded once), then the audit entries are appended and the domain
 * events they stand for are published.
 */
import type { AuditEntry, Cause, PayoutState } from '../domain/payout.js';
import { derivePayoutState } from '../domain/payout-state.js';
import { emitMetrics, type MetricName } from '../metrics.js';
import { logger } from '../observability.js';
import type { AuditStore } from '../store/audit-store.js';
import type { ControlStore } from '../store/controls-store.js';
import type { PayoutStore } from '../store/payouts-store.js';
import { eventsFor, type EventPublisher } from './events.js';

/** Final states in which no payment of the payout went out. */
const NOTHING_PAID: readonly PayoutState[] = ['FAILED', 'REJECTED', 'CANCELED'];

export interface RecordDeps {
  repository: PayoutStore & AuditStore & Pick<ControlStore, 'releaseLimit'>;
  events: EventPublisher;
}

/** The metric counting payouts that reach each final state. */
const FINAL_STATE_METRICS: Partial<Record<PayoutState, MetricName>> = {
  COMPLETED: 'PayoutsCompleted',
  COMPLETED_WITH_FAILURES: 'PayoutsCompletedWithFailures',
  FAILED: 'PayoutsFailed',
  CANCELED: 'PayoutsCanceled',
  REJECTED: 'PayoutsRejected',
};

export async function recordPayoutState(
  deps: RecordDeps,
  payoutId: string,
  now: Date,
  cause: Cause,
  audit: AuditEntry[],
  /** Who moved it, when a caller did (approval, cancel); else the system part of the cause. */
  actor: Pick<AuditEntry, 'actor' | 'actorSession'> = {},
): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const stored = await deps.repository.getPayoutWithBatches(payoutId);
    if (!stored) break;
    const stuck = stored.batches.some((b) => b.stuck === true);
    if (stuck !== (stored.payout.stuck ?? false))
      await deps.repository.setPayoutStuck(payoutId, stuck);
    const state = derivePayoutState(stored.batches);
    if (state === stored.payout.state) break;
    if (await deps.repository.setPayoutState(payoutId, stored.payout.state, state, now)) {
      const finalMetric = FINAL_STATE_METRICS[state];
      if (finalMetric) emitMetrics({ [finalMetric]: 1 });
      audit.push({
        payoutId,
        at: now.toISOString(),
        entity: 'payout',
        field: 'state',
        from: stored.payout.state,
        to: state,
        cause,
        ...actor,
      });
      // Nothing was paid: the amount no longer counts against the owner's daily limit.
      if (NOTHING_PAID.includes(state)) {
        await deps.repository.releaseLimit(stored.payout.owner, stored.payout.currency, payoutId);
      }
      break;
    }
    // Another writer moved it meanwhile: look again.
  }
  await recordTransitions(deps, payoutId, audit);
}

/**
 * Appends audit entries and publishes their domain events, leaving the payout's derived state to
 * a later `recordPayoutState` (the reconciler derives it once per payout per tick).
 */
export async function recordTransitions(
  deps: RecordDeps,
  payoutId: string,
  audit: AuditEntry[],
): Promise<void> {
  if (audit.length === 0) return;
  await deps.repository.appendAudit(audit);
  const events = eventsFor(audit);
  if (events.length === 0) return;
  try {
    await deps.events.publish(events);
  } catch (err) {
    // The audit trail holds every transition; subscribers can catch up from the API.
    logger.error('publishing domain events failed', { payoutId, error: err as Error });
  }
}
