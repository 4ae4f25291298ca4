import { describe, expect, it } from 'vitest';
import { CurrencyRegistry } from '../../shared/domain/currencies.js';
import {
  batchNeeds,
  estimatedFee,
  FundsLedger,
  shortfalls,
  type FeeEstimate,
} from '../../shared/domain/funds.js';
import { Decimal } from '../../shared/domain/money.js';

const d = Decimal.parse;
const currencies = CurrencyRegistry.withOverrides({
  BTC: { networkFee: '0.0002' },
  USDT: { networkFee: '0.005' },
});
const fee = (percentage: string, marginPercent = '0'): FeeEstimate => ({
  percentage: d(percentage),
  source: 'default',
  marginPercent: d(marginPercent),
});

describe('estimatedFee', () => {
  it('is amount × percentage with the margin on top, exact', () => {
    expect(estimatedFee(d('200'), fee('0.5'), 6).toString()).toBe('1');
    expect(estimatedFee(d('200'), fee('0.5', '25'), 6).toString()).toBe('1.25');
    expect(estimatedFee(d('0.1'), fee('1', '10'), 8).toString()).toBe('0.0011');
  });

  it('rounds up to the currency decimals, never down', () => {
    // 0.00000001 × 1% = 0.0000000001: below one satoshi, still one satoshi.
    expect(estimatedFee(d('0.00000001'), fee('1'), 8).toString()).toBe('0.00000001');
    // 1 × 0.333% × 1.1 = 0.003663 exactly: nothing to round.
    expect(estimatedFee(d('1'), fee('0.333', '10'), 6).toString()).toBe('0.003663');
    expect(estimatedFee(d('1'), fee('0.3333333', '0'), 6).toString()).toBe('0.003334');
  });

  it('is zero for a zero percentage', () => {
    expect(estimatedFee(d('5'), fee('0', '25'), 8).isZero()).toBe(true);
  });
});

describe('batchNeeds', () => {
  it('a native coin: amounts, fees and network fees all in that coin', () => {
    const needs = batchNeeds(currencies.require('BTC'), [d('0.1'), d('0.2')], fee('1'));
    // 0.3 + 0.003 Calypso fee + 2 × 0.0002 network
    expect(needs.map((n) => [n.currency, n.needed.toString()])).toEqual([['BTC', '0.3034']]);
  });

  it('a token: amounts and fees in the token, the network fee in the fee coin', () => {
    const needs = batchNeeds(currencies.require('USDT'), [d('100'), d('50.5')], fee('0.5', '20'));
    expect(needs.map((n) => [n.currency, n.needed.toString()])).toEqual([
      ['USDT', '151.403'],
      ['ETH', '0.01'],
    ]);
  });

  it('a token with no network fee configured needs nothing of the fee coin', () => {
    const free = CurrencyRegistry.withOverrides({ USDT: { networkFee: '0' } });
    const needs = batchNeeds(free.require('USDT'), [d('10')], fee('0'));
    expect(needs.map((n) => n.currency)).toEqual(['USDT']);
  });
});

describe('shortfalls and the ledger', () => {
  const needs = batchNeeds(currencies.require('USDT'), [d('100')], fee('1'));

  it('names each coin that is short, with what is missing', () => {
    const short = shortfalls(needs, new Map([['USDT', d('1000')]]));
    expect(short.map((s) => [s.currency, s.needed.toString(), s.missing.toString()])).toEqual([
      ['ETH', '0.005', '0.005'],
    ]);
    expect(
      shortfalls(
        needs,
        new Map([
          ['USDT', d('101')],
          ['ETH', d('0.005')],
        ]),
      ),
    ).toEqual([]);
  });

  it('never lets two batches count the same funds, and takes nothing from a batch it refuses', () => {
    const ledger = new FundsLedger([
      ['USDT', d('150')],
      ['ETH', d('1')],
    ]);
    expect(ledger.reserve(needs)).toEqual([]);
    const second = ledger.reserve(needs);
    expect(second.map((s) => [s.currency, s.available.toString(), s.missing.toString()])).toEqual([
      ['USDT', '49', '52'],
    ]);
    // The refused batch took nothing: a smaller one still fits in what is left.
    const small = batchNeeds(currencies.require('USDT'), [d('40')], fee('1'));
    expect(ledger.reserve(small)).toEqual([]);
    ledger.release(small);
    expect(ledger.reserve(small)).toEqual([]);
  });
});
