/** The configuration read from the environment: the Calypso listing's first page index. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.js';

const BASE = {
  TABLE_NAME: 'payouts',
  CALYPSO_BASE_URL: 'https://api.calypso.finance',
  CALYPSO_API_KEY: 'key',
  CALYPSO_SECRET_KEY: 'secret',
  CALYPSO_ACCOUNT: 'account',
};

describe('CALYPSO_FIRST_PAGE', () => {
  it('is 0 unless set, and 1 when set to 1', () => {
    expect(loadConfig(BASE).calypso.firstPage).toBe(0);
    expect(loadConfig({ ...BASE, CALYPSO_FIRST_PAGE: '0' }).calypso.firstPage).toBe(0);
    expect(loadConfig({ ...BASE, CALYPSO_FIRST_PAGE: '1' }).calypso.firstPage).toBe(1);
  });

  it('refuses any other value, naming the variable', () => {
    for (const value of ['2', '-1', 'one', '']) {
      expect(() => loadConfig({ ...BASE, CALYPSO_FIRST_PAGE: value })).toThrow(ConfigError);
      expect(() => loadConfig({ ...BASE, CALYPSO_FIRST_PAGE: value })).toThrow(
        /CALYPSO_FIRST_PAGE/,
      );
    }
  });
});

describe('single payouts and the funds check', () => {
  it('default to 5 recipients, 72 h of waiting, a 1% fee with a 25% margin', () => {
    const config = loadConfig(BASE);
    expect(config.singlePayoutMax).toBe(5);
    expect(config.funds).toEqual({
      waitMaxMs: 72 * 3_600_000,
      defaultFeePercent: '1',
      marginPercent: '25',
    });
  });

  it('take 0 to turn single payouts off, and percentages as exact decimal text', () => {
    const config = loadConfig({
      ...BASE,
      SINGLE_PAYOUT_MAX: '0',
      FUNDS_WAIT_MAX_MS: '3600000',
      FEE_ESTIMATE_PERCENT: '0.35',
      FEE_ESTIMATE_MARGIN_PERCENT: '0',
    });
    expect(config.singlePayoutMax).toBe(0);
    expect(config.funds).toEqual({
      waitMaxMs: 3_600_000,
      defaultFeePercent: '0.35',
      marginPercent: '0',
    });
  });

  it.each([
    ['SINGLE_PAYOUT_MAX', '-1'],
    ['SINGLE_PAYOUT_MAX', 'five'],
    ['FUNDS_WAIT_MAX_MS', '0'],
    ['FEE_ESTIMATE_PERCENT', '1e-2'],
    ['FEE_ESTIMATE_MARGIN_PERCENT', '-5'],
  ])('refuses %s=%s, naming it', (name, value) => {
    expect(() => loadConfig({ ...BASE, [name]: value })).toThrow(new RegExp(name));
  });
});
