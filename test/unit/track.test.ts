import { describe, expect, it } from 'vitest';
import type { Withdrawal } from '../../shared/calypso/schemas.js';
import { Decimal } from '../../shared/domain/money.js';
import type { WithdrawalRecord } from '../../shared/domain/payout.js';
import { matchWithdrawals, nextLookDelay } from '../../shared/payouts/track.js';

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
