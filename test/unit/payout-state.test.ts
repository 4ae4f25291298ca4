import { describe, expect, it } from 'vitest';
import type { BatchRecord } from '../../shared/domain/payout.js';
import { derivePayoutState } from '../../shared/domain/payout-state.js';

type B = Pick<BatchRecord, 'status' | 'calypsoState' | 'withdrawalCounts'>;
const b = (
  status: B['status'],
  withdrawalCounts: Record<string, number> = {},
  calypsoState?: string,
): B => ({
  status,
  withdrawalCounts,
  ...(calypsoState ? { calypsoState } : {}),
});

describe('derivePayoutState', () => {
  it('is ACCEPTED until a batch reaches Calypso, then SUBMITTED, then IN_PROGRESS', () => {
    expect(derivePayoutState([b('PENDING', { PENDING: 3 }), b('SUBMITTING', { PENDING: 2 })])).toBe(
      'ACCEPTED',
    );
    expect(
      derivePayoutState([
        b('SUBMITTED', { PENDING: 3 }, 'CREATION_IN_PROGRESS'),
        b('PENDING', { PENDING: 1 }),
      ]),
    ).toBe('ACCEPTED');
    expect(derivePayoutState([b('SUBMITTED', { PENDING: 3 }, 'CREATION_IN_PROGRESS')])).toBe(
      'SUBMITTED',
    );
    expect(
      derivePayoutState([b('SUBMITTED', { IN_PROGRESS: 3 }, 'IN_PROGRESS'), b('PENDING')]),
    ).toBe('IN_PROGRESS');
  });

  it('ends COMPLETED only when every payment completed', () => {
    expect(derivePayoutState([b('FINAL', { COMPLETED: 3 }), b('FINAL', { COMPLETED: 1 })])).toBe(
      'COMPLETED',
    );
    // A record still REPLACED never saw its replacement paid: not counted as paid.
    expect(
      derivePayoutState([b('FINAL', { COMPLETED: 3 }), b('FINAL', { COMPLETED: 1, REPLACED: 1 })]),
    ).toBe('COMPLETED_WITH_FAILURES');
    expect(derivePayoutState([b('FINAL', { REPLACED: 1 })])).toBe('FAILED');
    expect(derivePayoutState([b('FINAL', { COMPLETED: 3 }), b('FINAL', { FAILED: 1 })])).toBe(
      'COMPLETED_WITH_FAILURES',
    );
    expect(derivePayoutState([b('FINAL', { COMPLETED: 3 }), b('REJECTED', { PENDING: 2 })])).toBe(
      'COMPLETED_WITH_FAILURES',
    );
  });

  it('says a mass payout Calypso ended COMPLETED with failed payments among them COMPLETED_WITH_FAILURES', () => {
    // The guide: "The mass payout can have state COMPLETED but some payments could finish with errors."
    expect(derivePayoutState([b('FINAL', { COMPLETED: 2, FAILED: 1 }, 'COMPLETED')])).toBe(
      'COMPLETED_WITH_FAILURES',
    );
    expect(derivePayoutState([b('FINAL', { COMPLETED: 2, CANCELED: 1 }, 'COMPLETED')])).toBe(
      'COMPLETED_WITH_FAILURES',
    );
    expect(derivePayoutState([b('FINAL', { COMPLETED: 3 }, 'COMPLETED')])).toBe('COMPLETED');
  });

  it('is FAILED, CANCELED or REJECTED when nothing was paid', () => {
    expect(derivePayoutState([b('FINAL', { FAILED: 3 }), b('FINAL', { CANCELED: 1 })])).toBe(
      'FAILED',
    );
    expect(derivePayoutState([b('FINAL', { CANCELED: 3 })])).toBe('CANCELED');
    expect(derivePayoutState([b('REJECTED'), b('REJECTED')])).toBe('REJECTED');
  });
});
