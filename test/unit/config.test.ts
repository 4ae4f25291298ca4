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
