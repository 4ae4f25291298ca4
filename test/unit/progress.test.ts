import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forwardMassPayoutState, forwardWithdrawalState } from '../../shared/domain/progress.js';

const MASS = [
  'CREATION_IN_PROGRESS',
  'PENDING_CONFIRMATION',
  'CONFIRMED',
  'IN_PROGRESS',
  'COMPLETED',
  'FAILED',
  'CANCELED',
  'PARTIAL',
  'SOMETHING_NEW',
];
const WD = [
  'PENDING',
  'DRAFT',
  'IN_PROGRESS',
  'COMPLETED',
  'REPLACED',
  'FAILED',
  'CANCELED',
  'SOMETHING_NEW',
];

describe('forward-only states', () => {
  it('moves a mass payout forward and never out of a terminal state', () => {
    expect(forwardMassPayoutState(undefined, 'CREATION_IN_PROGRESS')).toBe('CREATION_IN_PROGRESS');
    expect(forwardMassPayoutState('CREATION_IN_PROGRESS', 'IN_PROGRESS')).toBe('IN_PROGRESS');
    expect(forwardMassPayoutState('IN_PROGRESS', 'CONFIRMED')).toBe('IN_PROGRESS');
    expect(forwardMassPayoutState('IN_PROGRESS', 'COMPLETED')).toBe('COMPLETED');
    expect(forwardMassPayoutState('COMPLETED', 'IN_PROGRESS')).toBe('COMPLETED');
    expect(forwardMassPayoutState('COMPLETED', 'FAILED')).toBe('COMPLETED');
    expect(forwardMassPayoutState('IN_PROGRESS', 'SOMETHING_NEW')).toBe('IN_PROGRESS');
  });

  it('moves a withdrawal forward; terminal states are final; unknown states are kept but never block', () => {
    expect(forwardWithdrawalState('PENDING', 'DRAFT')).toBe('DRAFT');
    expect(forwardWithdrawalState('DRAFT', 'SOMETHING_NEW')).toBe('SOMETHING_NEW');
    expect(forwardWithdrawalState('SOMETHING_NEW', 'IN_PROGRESS')).toBe('IN_PROGRESS');
    expect(forwardWithdrawalState('IN_PROGRESS', 'DRAFT')).toBe('IN_PROGRESS');
    expect(forwardWithdrawalState('IN_PROGRESS', 'FAILED')).toBe('FAILED');
    expect(forwardWithdrawalState('FAILED', 'COMPLETED')).toBe('FAILED');
    expect(forwardWithdrawalState('COMPLETED', 'PENDING')).toBe('COMPLETED');
  });

  it('never takes REPLACED: the record follows the replacement to its own end', () => {
    for (const current of ['PENDING', 'DRAFT', 'IN_PROGRESS', 'COMPLETED', 'FAILED'])
      expect(forwardWithdrawalState(current, 'REPLACED')).toBe(current);
    // A record left REPLACED by older code is not final: it goes on with the replacement.
    expect(forwardWithdrawalState('REPLACED', 'IN_PROGRESS')).toBe('IN_PROGRESS');
    expect(forwardWithdrawalState('REPLACED', 'FAILED')).toBe('FAILED');
    expect(forwardWithdrawalState('REPLACED', 'DRAFT')).toBe('REPLACED');
  });

  it('reaches the same final state whatever order the reports arrive in', () => {
    // Any order of one lifecycle's reports ends in its terminal state.
    const lifecycle = ['DRAFT', 'IN_PROGRESS', 'COMPLETED'];
    fc.assert(
      fc.property(fc.shuffledSubarray(lifecycle, { minLength: 3, maxLength: 3 }), (order) => {
        expect(order.reduce(forwardWithdrawalState, 'PENDING')).toBe('COMPLETED');
      }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...MASS)),
        fc.array(fc.constantFrom(...WD)),
        (mass, wd) => {
          const m = mass.reduce<string | undefined>(
            (s, n) => forwardMassPayoutState(s, n),
            undefined,
          );
          const w = wd.reduce(forwardWithdrawalState, 'PENDING');
          // Once terminal, further reports change nothing.
          for (const n of MASS)
            if (['COMPLETED', 'FAILED', 'CANCELED', 'PARTIAL'].includes(m ?? ''))
              expect(forwardMassPayoutState(m, n)).toBe(m);
          for (const n of WD)
            if (['COMPLETED', 'FAILED'].includes(w)) expect(forwardWithdrawalState(w, n)).toBe(w);
          expect(w).not.toBe('REPLACED');
        },
      ),
    );
  });
});
