/** The settings that bound a request: the executionDate horizon and the maximum per recipient. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.js';

const base = {
  TABLE_NAME: 'payouts',
  CALYPSO_BASE_URL: 'http://127.0.0.1:1',
  CALYPSO_API_KEY: 'k',
  CALYPSO_SECRET_KEY: 's',
  CALYPSO_ACCOUNT: 'a',
};

describe('EXECUTION_DATE_HORIZON_DAYS', () => {
  it('defaults to 90 days and takes a positive whole number', () => {
    expect(loadConfig(base).executionDateHorizonDays).toBe(90);
    expect(loadConfig({ ...base, EXECUTION_DATE_HORIZON_DAYS: '7' }).executionDateHorizonDays).toBe(
      7,
    );
  });

  it.each(['0', '-1', '1.5', 'ninety', ''])('refuses %j at start', (value) => {
    expect(() => loadConfig({ ...base, EXECUTION_DATE_HORIZON_DAYS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, EXECUTION_DATE_HORIZON_DAYS: value })).toThrow(
      /EXECUTION_DATE_HORIZON_DAYS/,
    );
  });
});

describe('CURRENCY_OVERRIDES', () => {
  it('sets a maximum per recipient as a decimal string and refuses a JSON number', () => {
    const config = loadConfig({ ...base, CURRENCY_OVERRIDES: '{"BTC":{"maxAmount":"2.5"}}' });
    expect(config.currencies.require('BTC').maxAmount.toString()).toBe('2.5');
    expect(() => loadConfig({ ...base, CURRENCY_OVERRIDES: '{"BTC":{"maxAmount":2.5}}' })).toThrow(
      /CURRENCY_OVERRIDES/,
    );
  });
});
