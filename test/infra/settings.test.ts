/** CDK context parsing and the per-handler defaults: cheap checks, no synthesis. */
import { describe, expect, it } from 'vitest';
import { FUNCTION_SPECS, functionSpec } from '../../infra/functions.js';
import { METRICS_NAMESPACE, METRIC_NAMES } from '../../infra/metric-names.js';
import { SettingsError, readSettings } from '../../infra/settings.js';
import { METRICS_NAMESPACE as EMITTED_NAMESPACE, type MetricName } from '../../shared/metrics.js';

const context =
  (values: Record<string, unknown>) =>
  (key: string): unknown =>
    values[key];

describe('readSettings', () => {
  it('defers named table indexes (one new index per deploy), refusing unknown names', () => {
    expect(
      readSettings(
        context({
          calypsoBaseUrl: 'https://api.calypso.finance',
          deferIndexes: 'byOwner, allPayouts',
        }),
      ).deferIndexes,
    ).toEqual(['byOwner', 'allPayouts']);
    expect(() =>
      readSettings(
        context({ calypsoBaseUrl: 'https://api.calypso.finance', deferIndexes: ['byOwnr'] }),
      ),
    ).toThrow(/deferIndexes: byOwnr is not an index/);
  });

  it('passes per-stage function settings on, checked, and nothing when absent', () => {
    const settings = readSettings(
      context({
        calypsoBaseUrl: 'https://api.calypso.finance',
        stuckAfterMs: 3_600_000,
        confirmationStuckAfterMs: '172800000',
        maxRecipients: '2500',
        testnetAddresses: true,
        executionDateHorizonDays: 30,
        calypsoFirstPage: '1',
        singlePayoutMax: 0,
        fundsWaitMaxMs: '86400000',
        feeEstimatePercent: '0.75',
        feeEstimateMarginPercent: 50,
        fundsAlarmAfterMinutes: '30',
      }),
    );
    expect(settings.fundsAlarmAfterMinutes).toBe(30);
    expect(settings.functionSettings).toEqual({
      STUCK_AFTER_MS: '3600000',
      CONFIRMATION_STUCK_AFTER_MS: '172800000',
      MAX_RECIPIENTS: '2500',
      TESTNET_ADDRESSES: 'true',
      EXECUTION_DATE_HORIZON_DAYS: '30',
      CALYPSO_FIRST_PAGE: '1',
      SINGLE_PAYOUT_MAX: '0',
      FUNDS_WAIT_MAX_MS: '86400000',
      FEE_ESTIMATE_PERCENT: '0.75',
      FEE_ESTIMATE_MARGIN_PERCENT: '50',
    });
    expect(() =>
      readSettings(
        context({
          calypsoBaseUrl: 'https://api.calypso.finance',
          stuckAfterMs: 10,
          confirmationStuckAfterMs: 59_999,
          testnetAddresses: 'yes',
          calypsoFirstPage: 2,
          singlePayoutMax: -1,
          fundsWaitMaxMs: 1000,
          feeEstimatePercent: '1e-2',
          fundsAlarmAfterMinutes: 0,
        }),
      ),
    ).toThrow(
      /stuckAfterMs: [\s\S]*confirmationStuckAfterMs: [\s\S]*calypsoFirstPage: [\s\S]*singlePayoutMax: [\s\S]*fundsWaitMaxMs: [\s\S]*feeEstimatePercent: [\s\S]*fundsAlarmAfterMinutes: [\s\S]*testnetAddresses: must be true or false/,
    );
  });

  it('reads teams and auditors, and refuses a bad one at synth naming the key', () => {
    const settings = readSettings(
      context({
        calypsoBaseUrl: 'https://api.calypso.finance',
        teams: { payroll: ['arn:aws:iam::123456789012:role/payroll-svc'] },
        auditors: '["payroll"]',
      }),
    );
    expect(JSON.parse(settings.teams!)).toEqual({
      payroll: ['arn:aws:iam::123456789012:role/payroll-svc'],
    });
    expect(settings.auditors).toBe('["payroll"]');
    expect(() =>
      readSettings(
        context({
          calypsoBaseUrl: 'https://api.calypso.finance',
          teams: { payroll: ['payroll-svc'] },
          auditors: ['finance'],
        }),
      ),
    ).toThrow(/teams\.payroll: "payroll-svc" is not a principal ARN[\s\S]*auditors: "finance"/);
  });

  it('applies the defaults around the one required value', () => {
    expect(readSettings(context({ calypsoBaseUrl: 'https://api.calypso.finance' }))).toEqual({
      stage: 'dev',
      calypsoBaseUrl: 'https://api.calypso.finance',
      calypsoPathPrefix: '/api/v1',
      reconcileRateMinutes: 1,
      fundsAlarmAfterMinutes: 60,
      functionSettings: {},
      deferIndexes: [],
      throttle: { rateLimit: 50, burstLimit: 100 },
      webhook: {
        throttle: { rateLimit: 25, burstLimit: 50 },
        wafRateLimit: 1500,
        allowedCidrs: [],
      },
    });
  });

  it('reads every key, from -c strings or cdk.json values', () => {
    const settings = readSettings(
      context({
        stage: 'prod',
        calypsoBaseUrl: 'https://api.calypso.money',
        calypsoPathPrefix: '/api/v1/pub',
        calypsoWithdrawalsPath: '/payout/withdrawal/find',
        currencyOverrides: {
          BTC: { massPayoutLimit: 50 },
          LTC: { network: 'bitcoin', decimals: 8 },
        },
        reconcileRate: '3',
        alarmEmail: 'oncall@example.com',
        apiRateLimit: 20,
        apiBurstLimit: '40',
        webhookRateLimit: '10',
        webhookBurstLimit: 15,
        webhookWafRateLimit: '300',
        webhookAllowedCidrs: ['203.0.113.0/24', '2001:db8::/32', '203.0.113.0/24'],
      }),
    );
    expect(settings).toEqual({
      stage: 'prod',
      calypsoBaseUrl: 'https://api.calypso.money',
      calypsoPathPrefix: '/api/v1/pub',
      calypsoWithdrawalsPath: '/payout/withdrawal/find',
      currencyOverrides: '{"BTC":{"massPayoutLimit":50},"LTC":{"network":"bitcoin","decimals":8}}',
      reconcileRateMinutes: 3,
      fundsAlarmAfterMinutes: 60,
      functionSettings: {},
      deferIndexes: [],
      alarmEmail: 'oncall@example.com',
      throttle: { rateLimit: 20, burstLimit: 40 },
      webhook: {
        throttle: { rateLimit: 10, burstLimit: 15 },
        wafRateLimit: 300,
        allowedCidrs: ['203.0.113.0/24', '2001:db8::/32'],
      },
    });
  });

  it('refuses bad values, naming every one', () => {
    const attempt = () =>
      readSettings(
        context({
          stage: 'Prod_1',
          calypsoBaseUrl: 'http://api.calypso.finance',
          calypsoPathPrefix: 'api/v1',
          currencyOverrides: '{"BTC": {"massPayoutLimit": 0}}',
          reconcileRate: '0.5',
          alarmEmail: 'not-an-address',
          webhookWafRateLimit: '5',
          webhookAllowedCidrs: '203.0.113.0/24,10.0.0.1,2001:db8::/129',
        }),
      );
    expect(attempt).toThrow(SettingsError);
    const message = (() => {
      try {
        attempt();
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    for (const key of [
      'stage',
      'calypsoBaseUrl',
      'calypsoPathPrefix',
      'currencyOverrides',
      'reconcileRate',
      'alarmEmail',
      'webhookWafRateLimit',
      'webhookAllowedCidrs',
    ]) {
      expect(message).toContain(`${key}:`);
    }
    // Each bad block named, the good one not.
    expect(message).toContain('not CIDR blocks: 10.0.0.1, 2001:db8::/129');
  });

  it('reads the webhook allow-list as comma-separated text or a JSON array from -c', () => {
    const read = (webhookAllowedCidrs: unknown) =>
      readSettings(context({ calypsoBaseUrl: 'https://x.example', webhookAllowedCidrs })).webhook
        .allowedCidrs;
    expect(read(' 198.51.100.0/24 , 203.0.113.9/32 ')).toEqual([
      '198.51.100.0/24',
      '203.0.113.9/32',
    ]);
    expect(read('["198.51.100.0/24"]')).toEqual(['198.51.100.0/24']);
    expect(read('')).toEqual([]);
    expect(() => read('[oops')).toThrow(/webhookAllowedCidrs: not valid JSON/);
    expect(() => read({ a: 1 })).toThrow(/webhookAllowedCidrs: must be a list/);
    expect(() => read('0.0.0.0/0')).toThrow(/not CIDR blocks: 0\.0\.0\.0\/0/);
  });

  it('requires the Calypso base URL and checks override JSON', () => {
    expect(() => readSettings(context({}))).toThrow(/calypsoBaseUrl: required/);
    expect(() =>
      readSettings(context({ calypsoBaseUrl: 'https://x.example', currencyOverrides: '{oops' })),
    ).toThrow(/currencyOverrides: not valid JSON/);
    expect(() =>
      readSettings(
        context({
          calypsoBaseUrl: 'https://x.example',
          currencyOverrides: '{"NEW":{"decimals":8}}',
        }),
      ),
    ).toThrow(/currencyOverrides: .*network and decimals/);
  });
});

describe('function specs', () => {
  it('give a route handler without an entry the least for its method', () => {
    const get = functionSpec('some-new-query', 'GET').access;
    expect(get).toEqual({
      table: ['GetItem', 'Query'],
      indexes: [],
      signingKey: false,
      webhookKeys: false,
      invokeSubmit: false,
      invokeApply: false,
      invokeBalances: false,
      publishEvents: false,
    });
    const post = functionSpec('some-new-command', 'POST').access;
    expect(post.table).not.toContain('DeleteItem');
    expect(post).toMatchObject({
      signingKey: false,
      webhookKeys: false,
      invokeSubmit: false,
      invokeApply: false,
      invokeBalances: false,
      publishEvents: false,
    });
  });

  it('refuse a background handler without an entry', () => {
    expect(() => functionSpec('nightly-report')).toThrow(/no spec/);
  });

  it('never grant deletes or scans', () => {
    for (const spec of Object.values(FUNCTION_SPECS)) {
      expect(spec.access.table).not.toContain('DeleteItem');
      expect(spec.access.table).not.toContain('Scan');
    }
  });
});

describe('metric names', () => {
  it('match what the functions emit', () => {
    expect(METRICS_NAMESPACE).toBe(EMITTED_NAMESPACE);
    // Type-checked: each alarm's metric is one the emitter knows.
    const names: MetricName[] = Object.values(METRIC_NAMES);
    expect(new Set(names).size).toBe(names.length);
    // The alarmed ones, each under the name the code emits.
    expect(names).toEqual(
      expect.arrayContaining([
        'StuckBatches',
        'WebhookSignatureRejected',
        'RetryDisagreements',
        'SubmissionPausedMinutes',
        'RejectedButFound',
        'FundsWaitMinutes',
        'BatchesUnfunded',
        'SubmissionFailures',
        'CalypsoErrors',
      ]),
    );
  });
});
