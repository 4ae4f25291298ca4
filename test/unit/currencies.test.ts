import { describe, expect, it } from 'vitest';
import {
  type Currency,
  CurrencyRegistry,
  type CurrencyOverrides,
  DEFAULT_CURRENCIES,
  UnknownCurrencyError,
} from '../../shared/domain/currencies.js';
import { Decimal } from '../../shared/domain/money.js';

/** calypso-api.md §6: network, on-chain decimals, and the native coin that pays network fees. */
const SECTION_6: ReadonlyArray<[code: string, network: string, decimals: number, fee: string]> = [
  ['BTC', 'bitcoin', 8, 'BTC'],
  ['ETH', 'ethereum', 18, 'ETH'],
  ['USDT', 'ethereum', 6, 'ETH'],
  ['FRAX', 'ethereum', 18, 'ETH'],
  ['BUSD_ETH', 'ethereum', 18, 'ETH'],
  ['USDC', 'ethereum', 6, 'ETH'],
  ['DAI', 'ethereum', 18, 'ETH'],
  ['TRX', 'tron', 6, 'TRX'],
  ['USDT_TRX', 'tron', 6, 'TRX'],
  ['BNB', 'bsc', 18, 'BNB'],
  ['BUSD', 'bsc', 18, 'BNB'],
  ['MATIC', 'polygon', 18, 'MATIC'],
  ['USDT_MATIC', 'polygon', 6, 'MATIC'],
  ['XDG', 'dogecoin', 8, 'XDG'],
];

/** The most one recipient may be paid by default: native coins by their worth, tokens 100 million. */
const MAX_AMOUNT: Readonly<Record<string, string>> = {
  BTC: '10000',
  ETH: '1000000',
  BNB: '1000000',
  TRX: '1000000000',
  MATIC: '1000000000',
  XDG: '1000000000',
};

/** The network fee per payment the funds check keeps in the fee coin: native, then token. */
const NETWORK_FEE: Readonly<Record<string, [native: string, token: string]>> = {
  bitcoin: ['0.0005', '0.0005'],
  ethereum: ['0.002', '0.006'],
  tron: ['2', '40'],
  bsc: ['0.0005', '0.001'],
  polygon: ['0.05', '0.1'],
  dogecoin: ['2', '2'],
};

describe('default currencies', () => {
  const registry = new CurrencyRegistry();

  it('are exactly the codes of calypso-api.md §6', () => {
    expect(registry.codes().sort()).toEqual(SECTION_6.map(([code]) => code).sort());
    expect(DEFAULT_CURRENCIES.map((c) => c.code).sort()).toEqual(registry.codes().sort());
  });

  it.each(SECTION_6)('%s: %s, %i decimals, fees in %s', (code, network, decimals, feeCoin) => {
    const limit = network === 'ethereum' ? 1000 : 100;
    expect(registry.require(code)).toEqual({
      code,
      network,
      decimals,
      massPayoutLimit: limit,
      feeCoin,
      token: code !== feeCoin,
      maxAmount: Decimal.parse(MAX_AMOUNT[code] ?? '100000000'),
      networkFee: Decimal.parse(NETWORK_FEE[network]![code === feeCoin ? 0 : 1]),
    });
  });

  it('takes a network fee per currency from the overrides, "0" included', () => {
    const registry = CurrencyRegistry.withOverrides({
      USDT: { networkFee: '0.0125' },
      BTC: { networkFee: '0' },
    });
    expect(registry.require('USDT').networkFee.toString()).toBe('0.0125');
    expect(registry.require('BTC').networkFee.isZero()).toBe(true);
    expect(() => CurrencyRegistry.withOverrides({ ETH: { networkFee: '-1' } })).toThrow();
    expect(() => CurrencyRegistry.withOverrides({ ETH: { networkFee: '1e-3' } })).toThrow();
  });

  it('caps every default currency at a finite maximum that the request parser can reach', () => {
    for (const currency of registry.all()) {
      expect(currency.maxAmount.isPositive()).toBe(true);
      expect(currency.maxAmount.compare(Decimal.parse('9'.repeat(30)))).toBe(-1);
    }
    expect(registry.require('USDT').maxAmount.toString()).toBe('100000000');
    expect(registry.require('BTC').maxAmount.toString()).toBe('10000');
  });

  it('pays every fee in a registered native coin of the same network', () => {
    for (const currency of registry.all()) {
      const fee = registry.require(currency.feeCoin);
      expect(fee.network).toBe(currency.network);
      expect(fee.token).toBe(false);
    }
  });

  it('answers undefined or UnknownCurrencyError for an unknown code', () => {
    expect(registry.get('DOGE')).toBeUndefined();
    expect(registry.get('usdt')).toBeUndefined();
    expect(() => registry.require('DOGE')).toThrow(UnknownCurrencyError);
    expect(() => registry.require('DOGE')).toThrow(/unknown currency "DOGE"/);
  });

  it('hands out entries that cannot be changed', () => {
    const btc = registry.require('BTC');
    expect(Object.isFrozen(btc)).toBe(true);
    expect(() => {
      (btc as { massPayoutLimit: number }).massPayoutLimit = 5;
    }).toThrow(TypeError);
    expect(registry.require('BTC').massPayoutLimit).toBe(100);
  });
});

describe('CurrencyRegistry.withOverrides', () => {
  const defaults = new CurrencyRegistry();

  it('with no overrides equals the defaults', () => {
    expect(CurrencyRegistry.withOverrides().all()).toEqual(defaults.all());
    expect(CurrencyRegistry.withOverrides({}).all()).toEqual(defaults.all());
  });

  it('changes only the named fields of a known currency', () => {
    const registry = CurrencyRegistry.withOverrides({
      USDT: { massPayoutLimit: 10_000 },
      BTC: { decimals: 6 },
    });
    expect(registry.require('USDT')).toEqual({
      ...defaults.require('USDT'),
      massPayoutLimit: 10_000,
    });
    expect(registry.require('BTC')).toEqual({ ...defaults.require('BTC'), decimals: 6 });
    for (const code of defaults.codes().filter((c) => c !== 'USDT' && c !== 'BTC')) {
      expect(registry.require(code)).toEqual(defaults.require(code));
    }
  });

  it('moves the fee coin with an overridden network unless the fee coin is named too', () => {
    const moved = CurrencyRegistry.withOverrides({ USDC: { network: 'polygon' } });
    expect(moved.require('USDC')).toMatchObject({ network: 'polygon', feeCoin: 'MATIC' });
    const named = CurrencyRegistry.withOverrides({ USDC: { network: 'polygon', feeCoin: 'POL' } });
    expect(named.require('USDC')).toMatchObject({ network: 'polygon', feeCoin: 'POL' });
    const feeOnly = CurrencyRegistry.withOverrides({ MATIC: { feeCoin: 'POL' } });
    expect(feeOnly.require('MATIC')).toMatchObject({ network: 'polygon', feeCoin: 'POL' });
  });

  it('overrides the maximum per recipient with a decimal string, and gives added codes one', () => {
    const registry = CurrencyRegistry.withOverrides({
      BTC: { maxAmount: '0.5' },
      USDT: { maxAmount: '250000.75' },
      LTC: { network: 'bitcoin', decimals: 8 },
      PEPE: { network: 'ethereum', decimals: 18, maxAmount: '1000000000000000' },
    });
    expect(registry.require('BTC')).toEqual({
      ...defaults.require('BTC'),
      maxAmount: Decimal.parse('0.5'),
    });
    expect(registry.require('USDT').maxAmount.toString()).toBe('250000.75');
    expect(registry.require('LTC').maxAmount.toString()).toBe('100000000');
    expect(registry.require('PEPE').maxAmount.toString()).toBe('1000000000000000');
    expect(registry.require('ETH').maxAmount.toString()).toBe('1000000');
  });

  it('leaves the defaults and other registries alone', () => {
    CurrencyRegistry.withOverrides({ ETH: { massPayoutLimit: 7 } });
    expect(DEFAULT_CURRENCIES.find((c) => c.code === 'ETH')?.massPayoutLimit).toBe(1000);
    expect(CurrencyRegistry.withOverrides().require('ETH').massPayoutLimit).toBe(1000);
  });

  it('adds a new code from its network and decimals, with that network defaults', () => {
    const registry = CurrencyRegistry.withOverrides({
      USDC_TRX: { network: 'tron', decimals: 6 },
      USDT_BSC: { network: 'bsc', decimals: 18, massPayoutLimit: 250 },
      PYUSD: { network: 'ethereum', decimals: 6 },
    });
    expect(registry.require('USDC_TRX')).toEqual({
      code: 'USDC_TRX',
      network: 'tron',
      decimals: 6,
      massPayoutLimit: 100,
      feeCoin: 'TRX',
      token: true,
      maxAmount: Decimal.parse('100000000'),
      networkFee: Decimal.parse('40'),
    } satisfies Currency);
    expect(registry.require('USDT_BSC')).toMatchObject({
      massPayoutLimit: 250,
      feeCoin: 'BNB',
      token: true,
    });
    expect(registry.require('PYUSD').massPayoutLimit).toBe(1000);
    expect(registry.codes()).toHaveLength(SECTION_6.length + 3);
  });

  it.each<[string, CurrencyOverrides]>([
    ['no network', { LTC: { decimals: 8 } }],
    ['no decimals', { LTC: { network: 'bitcoin' } }],
    ['neither', { LTC: { massPayoutLimit: 100 } }],
  ])('refuses a new code with %s', (_, overrides) => {
    expect(() => CurrencyRegistry.withOverrides(overrides)).toThrow(/network and decimals/);
  });

  it.each<[string, unknown]>([
    ['negative decimals', { BTC: { decimals: -1 } }],
    ['too many decimals', { BTC: { decimals: 31 } }],
    ['fractional decimals', { BTC: { decimals: 1.5 } }],
    ['decimals as a string', { BTC: { decimals: '8' } }],
    ['a zero limit', { USDT: { massPayoutLimit: 0 } }],
    ['a fractional limit', { USDT: { massPayoutLimit: 10.5 } }],
    ['a limit above 100000', { USDT: { massPayoutLimit: 100_001 } }],
    ['an unknown network', { SOL: { network: 'solana', decimals: 9 } }],
    ['an unknown field', { USDT: { limit: 500 } }],
    ['a lowercase code', { usdt: { massPayoutLimit: 500 } }],
    ['a code with a dash', { 'USDT-TRX': { network: 'tron', decimals: 6 } }],
    ['a lowercase fee coin', { USDT: { feeCoin: 'eth' } }],
    ['a non-boolean token flag', { USDT: { token: 'yes' } }],
    ['a non-object override', { USDT: 500 }],
    ['a maximum as a JSON number', { USDT: { maxAmount: 5000 } }],
    ['a zero maximum', { USDT: { maxAmount: '0' } }],
    ['a negative maximum', { USDT: { maxAmount: '-5' } }],
    ['a maximum in exponent notation', { USDT: { maxAmount: '1e6' } }],
    ['a maximum of 31 digits', { USDT: { maxAmount: '1'.repeat(31) } }],
  ])('rejects %s', (_, overrides) => {
    expect(() => CurrencyRegistry.withOverrides(overrides as CurrencyOverrides)).toThrow();
  });

  it('accepts the boundary values the invalid cases sit next to', () => {
    const registry = CurrencyRegistry.withOverrides({
      BTC: { decimals: 0 },
      ETH: { decimals: 30 },
      USDT: { massPayoutLimit: 1 },
      USDC: { massPayoutLimit: 100_000 },
      DAI: { maxAmount: '9'.repeat(30) },
      FRAX: { maxAmount: '0.000000000000000001' },
    });
    expect(registry.require('DAI').maxAmount.toString()).toBe('9'.repeat(30));
    expect(registry.require('FRAX').maxAmount.toString()).toBe('0.000000000000000001');
    expect(registry.require('BTC').decimals).toBe(0);
    expect(registry.require('ETH').decimals).toBe(30);
    expect(registry.require('USDT').massPayoutLimit).toBe(1);
    expect(registry.require('USDC').massPayoutLimit).toBe(100_000);
  });
});

describe('new CurrencyRegistry(list)', () => {
  it('holds exactly the given currencies, copied', () => {
    const custom: Currency = {
      code: 'TEST',
      network: 'ethereum',
      decimals: 2,
      massPayoutLimit: 3,
      feeCoin: 'ETH',
      token: true,
      maxAmount: Decimal.parse('50'),
      networkFee: Decimal.parse('0.01'),
    };
    const registry = new CurrencyRegistry([custom]);
    custom.massPayoutLimit = 99;
    expect(registry.codes()).toEqual(['TEST']);
    expect(registry.require('TEST').massPayoutLimit).toBe(3);
    expect(registry.get('BTC')).toBeUndefined();
  });
});
