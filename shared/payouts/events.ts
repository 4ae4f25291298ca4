/**
 * Domain events (PayoutStateChanged, WithdrawalStateChanged) for internal systems to subscribe
 * to, and the audit trail: both produced from the same list of transitions.
 */
import type { AuditEntry } from '../domain/payout.js';
import { logger } from '../observability.js';

export interface DomainEvent {
  type:
    | 'PayoutStateChanged'
    | 'WithdrawalStateChanged'
    | 'PayoutApprovalRequested'
    | 'PayoutApproved'
    | 'PayoutRejected'
    | 'PayoutCanceled'
    | 'SubmissionPaused'
    | 'SubmissionResumed'
    | 'BatchAwaitingFunds';
  payoutId: string;
  at: string;
  detail: Record<string, unknown>;
}

export interface EventPublisher {
  publish(events: DomainEvent[]): Promise<void>;
}

/** Keeps events in memory and logs them: the local stand-in for the event bus. */
export class MemoryEventPublisher implements EventPublisher {
  readonly events: DomainEvent[] = [];
  publish(events: DomainEvent[]): Promise<void> {
    this.events.push(...events);
    for (const event of events) logger.debug('domain event', { event });
    return Promise.resolve();
  }
}

/** Domain events that audit entries stand for. */
export function eventsFor(
  entries: AuditEntry[],
  extra: (e: AuditEntry) => Record<string, unknown> = () => ({}),
): DomainEvent[] {
  const events: DomainEvent[] = [];
  for (const entry of entries) {
    if (entry.entity === 'payout' && entry.field === 'state') {
      events.push({
        type: 'PayoutStateChanged',
        payoutId: entry.payoutId,
        at: entry.at,
        detail: {
          payoutId: entry.payoutId,
          from: entry.from,
          to: entry.to,
          cause: entry.cause,
          ...extra(entry),
        },
      });
    } else if (entry.entity === 'withdrawal' && entry.field === 'state') {
      const [batchIndex, position] = (entry.ref ?? '').split('/').map(Number);
      events.push({
        type: 'WithdrawalStateChanged',
        payoutId: entry.payoutId,
        at: entry.at,
        detail: {
          payoutId: entry.payoutId,
          batchIndex,
          position,
          from: entry.from,
          to: entry.to,
          cause: entry.cause,
          ...extra(entry),
        },
      });
    }
  }
  return events;
}
