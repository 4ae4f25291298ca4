import { describe, expect, it } from 'vitest';
import type { Withdrawal } from '../../shared/calypso/schemas.js';
import { Decimal } from '../../shared/domain/money.js';
import type { BatchRecord, WithdrawalRecord } from '../../shared/domain/payout.js';
import {
  batchLook,
  isUnsubmittedStuck,
  matchWithdrawals,
  nextLook,
  nextLookDelay,
  stuckEntry,
  unsubmittedStuckEntry,
  withdrawalChangeEntries,
  withdrawalChanges,
  type BatchLookInput,
  type TrackingSettings,
} from '../../shared/domain/tracking.js';

function ours(
  position: number,
  address: string,
  amount: string,
  extra: Partial<WithdrawalRecord> = {},
): WithdrawalRecord {
  return {
    payoutId: 'p',
    batchIndex: 0,
    position,
    requestIndex: position,
    address,
    amount,
    currency: 'ETH',
    state: 'PENDING',
    updatedAt: '',
    ...extra,
  };
}
function theirs(
  id: string,
  address: string,
  amount: string,
  extra: Partial<Withdrawal> = {},
): Withdrawal {
  return {
    id,
    state: 'DRAFT',
    amount: Decimal.parse(amount),
    depositAddress: address,
    withdrawalErrors: [],
    ...extra,
  };
}

const A = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const B = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359';
const C = '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB';
const D = '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb';

describe('matchWithdrawals', () => {
  it('matches by Calypso id, then externalId, then address and amount in order', () => {
    const mine = [
      ours(0, A, '1.0', { calypsoWithdrawalId: 'w9' }),
      ours(1, B, '2', { externalId: 'e-1' }),
      ours(2, C, '3'),
      ours(3, C, '3'),
      ours(4, D, '4'),
    ];
    const calypso = [
      theirs('w1', C, '3.000'),
      theirs('w2', B, '2', { externalId: 'e-1' }),
      theirs('w9', A.toLowerCase(), '1'),
      theirs('w3', C.toUpperCase().replace('0X', '0x'), '3'),
    ];
    const matched = matchWithdrawals(mine, calypso);
    expect([...matched].map(([p, t]) => [p, t.id]).sort()).toEqual([
      [0, 'w9'],
      [1, 'w2'],
      [2, 'w1'],
      [3, 'w3'],
    ]);
    expect(matched.has(4)).toBe(false);
  });

  it('never pairs one Calypso withdrawal with two of ours', () => {
    const mine = [ours(0, '0xcc', '3'), ours(1, '0xcc', '3')];
    const matched = matchWithdrawals(mine, [theirs('w1', '0xcc', '3')]);
    expect(matched.size).toBe(1);
    expect(matched.get(0)?.id).toBe('w1');
  });

  it('keeps base58 addresses case-sensitive', () => {
    const tron = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
    expect(
      matchWithdrawals([ours(0, tron, '1')], [theirs('w1', tron.toLowerCase(), '1')]).size,
    ).toBe(0);
    expect(matchWithdrawals([ours(0, tron, '1')], [theirs('w1', tron, '1')]).size).toBe(1);
  });

  it('follows a REPLACED withdrawal to its replacement, never one paired with another of ours', () => {
    // Two of ours pay the same address and amount; one's withdrawal was replaced.
    const mine = [
      ours(0, C, '3', { calypsoWithdrawalId: 'w1', state: 'IN_PROGRESS' }),
      ours(1, C, '3', { calypsoWithdrawalId: 'w2', state: 'IN_PROGRESS' }),
    ];
    const calypso = [
      theirs('w1', C, '3', { state: 'REPLACED' }),
      theirs('w2', C, '3', { state: 'IN_PROGRESS' }),
      theirs('w3', C, '3', { state: 'IN_PROGRESS' }),
    ];
    const matched = matchWithdrawals(mine, calypso);
    expect(matched.get(0)?.id).toBe('w3');
    expect(matched.get(1)?.id).toBe('w2');
    // Listed in another order, the same pairs.
    const again = matchWithdrawals(mine, [calypso[2]!, calypso[1]!, calypso[0]!]);
    expect([again.get(0)?.id, again.get(1)?.id]).toEqual(['w3', 'w2']);
  });

  it('stays with the REPLACED withdrawal until its replacement is listed', () => {
    const mine = [ours(0, A, '1', { calypsoWithdrawalId: 'w1', externalId: 'e-1' })];
    expect(matchWithdrawals(mine, [theirs('w1', A, '1', { state: 'REPLACED' })]).get(0)?.id).toBe(
      'w1',
    );
    // Another payment of the same amount to the same address with another externalId is not it.
    const other = theirs('w2', A, '1', { state: 'IN_PROGRESS', externalId: 'e-2' });
    expect(
      matchWithdrawals(mine, [theirs('w1', A, '1', { state: 'REPLACED' }), other]).get(0)?.id,
    ).toBe('w1');
    const replacement = theirs('w3', A.toLowerCase(), '1.0', { externalId: 'e-1' });
    expect(
      matchWithdrawals(mine, [theirs('w1', A, '1', { state: 'REPLACED' }), other, replacement]).get(
        0,
      )?.id,
    ).toBe('w3');
  });

  it('pairs withdrawals never paired before with the live withdrawal, not the REPLACED one', () => {
    const mine = [ours(0, A, '1', { externalId: 'e-1' }), ours(1, B, '2'), ours(2, D, '4')];
    const calypso = [
      theirs('w1', A, '1', { state: 'REPLACED', externalId: 'e-1' }),
      theirs('w2', B, '2', { state: 'REPLACED' }),
      theirs('w3', A, '1', { state: 'COMPLETED', externalId: 'e-1' }),
      theirs('w4', B, '2', { state: 'IN_PROGRESS' }),
      theirs('w5', D, '4', { state: 'REPLACED' }),
    ];
    const matched = matchWithdrawals(mine, calypso);
    expect([...matched].map(([p, t]) => [p, t.id]).sort()).toEqual([
      [0, 'w3'],
      [1, 'w4'],
      [2, 'w5'],
    ]);
  });

  it('does not pair different amounts', () => {
    expect(matchWithdrawals([ours(0, '0xcc', '3')], [theirs('w1', '0xcc', '3.0000001')]).size).toBe(
      0,
    );
  });
});

describe('nextLookDelay', () => {
  it('looks every tick while a batch is active and backs off as it stays quiet', () => {
    const tick = 60_000;
    const delays = [0, 20, 90, 600, 2000].map((minutes) => nextLookDelay(minutes * 60_000, tick));
    expect(delays[0]).toBe(tick);
    for (let i = 1; i < delays.length; i++)
      expect(delays[i]!).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(delays.at(-1)).toBe(3_600_000);
  });
});

const MINUTE = 60_000;
const settings: TrackingSettings = {
  stuckAfterMs: 60 * MINUTE,
  confirmationStuckAfterMs: 24 * 60 * MINUTE,
  pollIntervalMs: MINUTE,
};
const NOW = new Date('2030-01-02T12:00:00.000Z');
const AT = NOW.toISOString();
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

function batch(extra: Partial<BatchRecord> = {}): BatchRecord {
  return {
    payoutId: 'p',
    index: 0,
    idempotencyKey: 'k',
    currency: 'ETH',
    recipientCount: 2,
    total: '3',
    status: 'SUBMITTED',
    calypsoId: 'm1',
    calypsoState: 'IN_PROGRESS',
    attempts: 1,
    progressAt: ago(5 * MINUTE),
    withdrawalCounts: { IN_PROGRESS: 2 },
    createdAt: ago(60 * MINUTE),
    updatedAt: ago(5 * MINUTE),
    ...extra,
  };
}

describe('nextLook and stuck', () => {
  it('backs off from the last progress, or from a later executionDate', () => {
    expect(nextLook({ progressAt: ago(5 * MINUTE) }, 'IN_PROGRESS', NOW, settings)).toEqual({
      overdue: false,
      nextLookAt: new Date(NOW.getTime() + MINUTE).toISOString(),
    });
    const quiet = nextLook({ progressAt: ago(2 * 60 * MINUTE) }, 'IN_PROGRESS', NOW, settings);
    expect(quiet).toEqual({
      overdue: true,
      nextLookAt: new Date(NOW.getTime() + 10 * MINUTE).toISOString(),
    });
    // Nothing is expected before the execution date: not quiet, not stuck.
    const scheduled = { progressAt: ago(2 * 60 * MINUTE), executionDate: ago(MINUTE) };
    expect(nextLook(scheduled, 'IN_PROGRESS', NOW, settings).overdue).toBe(false);
  });

  it('waits longer while a person must confirm the payout in Calypso', () => {
    const progressAt = ago(2 * 60 * MINUTE);
    expect(nextLook({ progressAt }, 'PENDING_CONFIRMATION', NOW, settings).overdue).toBe(false);
    expect(nextLook({ progressAt }, 'CONFIRMED', NOW, settings).overdue).toBe(true);
    expect(
      nextLook({ progressAt: ago(25 * 60 * MINUTE) }, 'PENDING_CONFIRMATION', NOW, settings)
        .overdue,
    ).toBe(true);
  });

  it('flags a batch Calypso does not hold yet after stuckAfterMs, whatever its Calypso state', () => {
    const old = ago(61 * MINUTE);
    expect(isUnsubmittedStuck(batch({ status: 'PENDING', progressAt: old }), NOW, settings)).toBe(
      true,
    );
    expect(
      isUnsubmittedStuck(
        batch({ status: 'SUBMITTING', progressAt: old, calypsoState: 'PENDING_CONFIRMATION' }),
        NOW,
        settings,
      ),
    ).toBe(true);
    expect(isUnsubmittedStuck(batch({ status: 'SUBMITTED', progressAt: old }), NOW, settings)).toBe(
      false,
    );
    expect(
      isUnsubmittedStuck(batch({ status: 'PENDING', progressAt: ago(MINUTE) }), NOW, settings),
    ).toBe(false);
  });

  it('builds every stuck entry the same way', () => {
    const b = batch({ status: 'SUBMITTING', progressAt: ago(61 * MINUTE), lastError: 'timeout' });
    expect(unsubmittedStuckEntry(b, AT)).toEqual(
      stuckEntry(b, {
        cause: 'reconcile',
        at: AT,
        detail: `not at Calypso since ${b.progressAt}: timeout`,
      }),
    );
    expect(unsubmittedStuckEntry({ ...b, lastError: undefined }, AT).detail).toMatch(
      /no answer yet$/,
    );
    expect(stuckEntry(b, { cause: 'webhook', at: AT, detail: 'd' })).toEqual({
      payoutId: 'p',
      at: AT,
      entity: 'batch',
      ref: '0',
      field: 'stuck',
      from: 'false',
      to: 'true',
      cause: 'webhook',
      detail: 'd',
    });
  });
});

describe('withdrawalChanges', () => {
  it("follows Calypso's withdrawal: state forward, its id, hash, fee and errors", () => {
    const mine = [
      ours(0, A, '1', { state: 'IN_PROGRESS', calypsoWithdrawalId: 'w1' }),
      ours(1, B, '2', { state: 'COMPLETED', calypsoWithdrawalId: 'w2', fee: '0.01' }),
    ];
    const calypso = [
      theirs('w1', A, '1', {
        state: 'COMPLETED',
        transactionHash: '0xabc',
        calypsoFee: Decimal.parse('0.02'),
        withdrawalErrors: [{ status: 'NOT_ENOUGH_FUNDS', errorResolved: true }],
      }),
      // Stale: a final record never moves back; same fee, nothing changes.
      theirs('w2', B, '2', { state: 'IN_PROGRESS', calypsoFee: Decimal.parse('0.01') }),
    ];
    const changes = withdrawalChanges(batch(), { state: 'IN_PROGRESS' }, mine, calypso, AT);
    expect(changes).toEqual([
      {
        withdrawal: mine[0],
        set: {
          state: 'COMPLETED',
          transactionHash: '0xabc',
          fee: '0.02',
          errors: [{ status: 'NOT_ENOUGH_FUNDS', resolved: true, at: AT }],
        },
      },
    ]);
  });

  it('ends the payments Calypso never created when it ends the payout FAILED or CANCELED', () => {
    const mine = [ours(0, A, '1'), ours(1, B, '2', { state: 'COMPLETED' })];
    for (const state of ['FAILED', 'CANCELED']) {
      expect(withdrawalChanges(batch(), { state }, mine, [], AT)).toEqual([
        {
          withdrawal: mine[0],
          set: { state },
          detail: `never created by Calypso; the mass payout ended ${state}`,
        },
      ]);
    }
    expect(withdrawalChanges(batch(), { state: 'COMPLETED' }, mine, [], AT)).toEqual([]);
    // A terminal state once held is kept: a later report does not undo it.
    expect(
      withdrawalChanges(batch({ calypsoState: 'FAILED' }), { state: 'IN_PROGRESS' }, mine, [], AT),
    ).toHaveLength(1);
  });
});

describe('withdrawalChangeEntries', () => {
  it('records a replacement followed, errors raised and resolved, then the state', () => {
    const w = ours(3, A, '1', {
      state: 'IN_PROGRESS',
      calypsoWithdrawalId: 'w1',
      errors: [{ status: 'NOT_ENOUGH_FUNDS', resolved: false, at: AT }],
    });
    const entries = withdrawalChangeEntries(
      {
        withdrawal: w,
        set: {
          state: 'COMPLETED',
          calypsoWithdrawalId: 'w2',
          errors: [{ status: 'INVALID_ADDRESS', message: 'bad', resolved: false, at: AT }],
        },
      },
      'reconcile',
      AT,
    );
    expect(entries.map((e) => [e.field, e.from, e.to, e.ref])).toEqual([
      ['calypsoWithdrawalId', 'w1', 'w2', '0/3'],
      ['validationError', null, 'INVALID_ADDRESS', '0/3'],
      ['validationError', 'NOT_ENOUGH_FUNDS', 'resolved', '0/3'],
      ['state', 'IN_PROGRESS', 'COMPLETED', '0/3'],
    ]);
    expect(entries[1]!.detail).toBe('bad');
  });

  it("carries the change's reason on the state's entry, and is empty for a quiet change", () => {
    const w = ours(0, A, '1');
    const [entry] = withdrawalChangeEntries(
      { withdrawal: w, set: { state: 'FAILED' }, detail: 'why' },
      'reconcile',
      AT,
    );
    expect(entry).toMatchObject({ field: 'state', from: 'PENDING', to: 'FAILED', detail: 'why' });
    // A first Calypso id and a hash are not transitions.
    expect(
      withdrawalChangeEntries(
        { withdrawal: w, set: { calypsoWithdrawalId: 'w1', transactionHash: '0x1' } },
        'reconcile',
        AT,
      ),
    ).toEqual([]);
  });
});

describe('batchLook', () => {
  const look = (input: Partial<BatchLookInput> & Pick<BatchLookInput, 'ours'>) =>
    batchLook({
      batch: batch(),
      reported: { id: 'm1', state: 'IN_PROGRESS' },
      theirs: [],
      withdrawalsMoved: false,
      now: NOW,
      cause: 'reconcile',
      settings,
      ...input,
    });

  it('is FINAL once Calypso ended the payout and every payment is final', () => {
    const result = look({
      reported: { id: 'm1', state: 'COMPLETED', totalFee: Decimal.parse('0.5') },
      ours: [{ state: 'COMPLETED' }, { state: 'FAILED' }],
      withdrawalsMoved: true,
    });
    expect(result.set).toMatchObject({
      status: 'FINAL',
      calypsoState: 'COMPLETED',
      totalFee: '0.5',
      withdrawalCounts: { COMPLETED: 1, FAILED: 1 },
      progressAt: AT,
      stuck: false,
    });
    expect(result.progressed).toBe(true);
    expect(result.entries.map((e) => [e.field, e.from, e.to])).toEqual([
      ['calypsoState', 'IN_PROGRESS', 'COMPLETED'],
      ['status', 'SUBMITTED', 'FINAL'],
    ]);
  });

  it('stays SUBMITTED while a replaced payment waits for its replacement', () => {
    const result = look({
      reported: { id: 'm1', state: 'COMPLETED' },
      ours: [{ state: 'COMPLETED' }, { state: 'IN_PROGRESS' }],
    });
    expect(result.set.status).toBe('SUBMITTED');
    // A CANCELED payment counts as final once the payout ended.
    expect(
      look({
        reported: { id: 'm1', state: 'CANCELED' },
        ours: [{ state: 'CANCELED' }],
      }).set.status,
    ).toBe('FINAL');
  });

  it('keeps progressAt and backs off when nothing changed', () => {
    const b = batch({ progressAt: ago(20 * MINUTE), totalFee: '0.5' });
    const result = look({
      batch: b,
      reported: { id: 'm1', state: 'CONFIRMED', totalFee: Decimal.parse('0.5') },
      ours: [{ state: 'IN_PROGRESS' }, { state: 'IN_PROGRESS' }],
    });
    expect(result.progressed).toBe(false);
    expect(result.entries).toEqual([]);
    expect(result.set.calypsoState).toBe('IN_PROGRESS'); // never back
    expect(result.set.progressAt).toBe(b.progressAt);
    expect(result.set.nextLookAt).toBe(new Date(NOW.getTime() + 2 * MINUTE).toISOString());
    // A new fee, new counts or a payment this look moved are progress.
    expect(
      look({
        batch: b,
        reported: { id: 'm1', state: 'IN_PROGRESS', totalFee: Decimal.parse('0.6') },
        ours: [{ state: 'IN_PROGRESS' }, { state: 'IN_PROGRESS' }],
      }).progressed,
    ).toBe(true);
    expect(look({ batch: b, ours: [{ state: 'IN_PROGRESS' }] }).progressed).toBe(true);
    expect(
      look({
        batch: b,
        ours: [{ state: 'IN_PROGRESS' }, { state: 'IN_PROGRESS' }],
        withdrawalsMoved: true,
      }).progressed,
    ).toBe(true);
  });

  it('flags a quiet batch stuck once, with one entry, and never a FINAL one', () => {
    const quiet = batch({ progressAt: ago(61 * MINUTE) });
    const same = { ours: [{ state: 'IN_PROGRESS' }, { state: 'IN_PROGRESS' }] };
    const first = look({ batch: quiet, ...same });
    expect(first.set.stuck).toBe(true);
    expect(first.newlyStuck).toBe(true);
    expect(first.entries).toEqual([
      stuckEntry(quiet, {
        cause: 'reconcile',
        at: AT,
        detail: `no progress since ${quiet.progressAt}`,
      }),
    ]);
    const again = look({ batch: { ...quiet, stuck: true }, ...same });
    expect([again.set.stuck, again.newlyStuck, again.entries]).toEqual([true, false, []]);
    // Waiting for a person to confirm in Calypso is given longer.
    const confirming = batch({
      progressAt: ago(61 * MINUTE),
      calypsoState: 'PENDING_CONFIRMATION',
    });
    expect(
      look({
        batch: confirming,
        reported: { id: 'm1', state: 'PENDING_CONFIRMATION' },
        ...same,
      }).set.stuck,
    ).toBe(false);
  });

  it("marks resolved the batch's validation errors no withdrawal still has", () => {
    const b = batch({
      validationErrors: [
        { status: 'NOT_ENOUGH_FUNDS', resolved: false, at: AT },
        { status: 'INVALID_ADDRESS', resolved: false, at: AT },
      ],
    });
    const ours2 = [{ state: 'IN_PROGRESS' }, { state: 'IN_PROGRESS' }];
    const standing = theirs('w1', A, '1', {
      withdrawalErrors: [{ status: 'INVALID_ADDRESS', errorResolved: false }],
    });
    expect(look({ batch: b, ours: ours2, theirs: [standing] }).set.validationErrors).toEqual([
      { status: 'NOT_ENOUGH_FUNDS', resolved: true, at: AT },
      { status: 'INVALID_ADDRESS', resolved: false, at: AT },
    ]);
    // Without a listing nothing is known to be resolved.
    expect(look({ batch: b, ours: ours2 }).set.validationErrors).toBeUndefined();
  });
});
