/**
 * The deployment's parameters, from CDK context (`cdk.json` or `-c key=value`), checked at synth
 * so a bad value fails `cdk synth` instead of a function's cold start.
 */
import { parseAccess } from '../shared/config.js';
import { CALYPSO_DEFAULTS } from '../shared/defaults.js';
import { parsePolicy } from '../shared/domain/policy.js';
import { TABLE } from '../shared/store/table.js';
import { isIPv4, isIPv6 } from 'node:net';
import { CurrencyRegistry, currencyOverridesSchema } from '../shared/domain/currencies.js';

export interface StackSettings {
  /** Names the stack, the API stage and every named resource: `calypso-payouts-<stage>`. */
  stage: string;
  calypsoBaseUrl: string;
  calypsoPathPrefix: string;
  /** Calypso's withdrawals listing path; the functions' default when absent. */
  calypsoWithdrawalsPath?: string;
  /** Per-currency overrides as compact JSON (CURRENCY_OVERRIDES), already validated. */
  currencyOverrides?: string;
  /** The payout policy (PAYOUT_POLICY) as compact JSON, already validated. */
  payoutPolicy?: string;
  /** Teams (TEAMS) and auditors (AUDITORS) as compact JSON, already validated. */
  teams?: string;
  auditors?: string;
  /** Minutes between reconciler runs. */
  reconcileRateMinutes: number;
  /** Minutes a batch may wait for funds before the AwaitingFunds alarm fires. */
  fundsAlarmAfterMinutes: number;
  /**
   * Function settings given per stage (STUCK_AFTER_MS, CONFIRMATION_STUCK_AFTER_MS,
   * MAX_RECIPIENTS, TESTNET_ADDRESSES, EXECUTION_DATE_HORIZON_DAYS, CALYPSO_FIRST_PAGE), already
   * checked; absent ones keep the functions' defaults.
   */
  functionSettings: Record<string, string>;
  /**
   * Indexes of the table definition left out of this deploy. DynamoDB adds one global secondary
   * index per table update, so a stage created before several indexes existed takes them one
   * deploy at a time (see the README's upgrade note).
   */
  deferIndexes: string[];
  alarmEmail?: string;
  throttle: { rateLimit: number; burstLimit: number };
  /** Calypso's webhook route under a flood: its own limits, and WAF in front of it. */
  webhook: {
    /** POST /webhooks/calypso's own method throttling. */
    throttle: { rateLimit: number; burstLimit: number };
    /** Requests per source IP per 5 minutes to the webhook path before WAF blocks that source. */
    wafRateLimit: number;
    /** When not empty, WAF blocks webhook requests from any other source (CIDR blocks). */
    allowedCidrs: string[];
  };
}

/** The context keys this app reads, with what each means (the deploy guide lists them too). */
export const CONTEXT_KEYS = {
  stage: 'stage',
  calypsoBaseUrl: 'calypsoBaseUrl',
  calypsoPathPrefix: 'calypsoPathPrefix',
  calypsoWithdrawalsPath: 'calypsoWithdrawalsPath',
  currencyOverrides: 'currencyOverrides',
  payoutPolicy: 'payoutPolicy',
  teams: 'teams',
  auditors: 'auditors',
  reconcileRate: 'reconcileRate',
  alarmEmail: 'alarmEmail',
  apiRateLimit: 'apiRateLimit',
  apiBurstLimit: 'apiBurstLimit',
  stuckAfterMs: 'stuckAfterMs',
  confirmationStuckAfterMs: 'confirmationStuckAfterMs',
  maxRecipients: 'maxRecipients',
  testnetAddresses: 'testnetAddresses',
  executionDateHorizonDays: 'executionDateHorizonDays',
  calypsoFirstPage: 'calypsoFirstPage',
  webhookRateLimit: 'webhookRateLimit',
  webhookBurstLimit: 'webhookBurstLimit',
  webhookWafRateLimit: 'webhookWafRateLimit',
  webhookAllowedCidrs: 'webhookAllowedCidrs',
  deferIndexes: 'deferIndexes',
  singlePayoutMax: 'singlePayoutMax',
  fundsWaitMaxMs: 'fundsWaitMaxMs',
  fundsAlarmAfterMinutes: 'fundsAlarmAfterMinutes',
  feeEstimatePercent: 'feeEstimatePercent',
  feeEstimateMarginPercent: 'feeEstimateMarginPercent',
} as const;

export const DEFAULTS = {
  stage: 'dev',
  calypsoPathPrefix: CALYPSO_DEFAULTS.pathPrefix,
  reconcileRateMinutes: 1,
  fundsAlarmAfterMinutes: 60,
  apiRateLimit: 50,
  apiBurstLimit: 100,
  webhookRateLimit: 25,
  webhookBurstLimit: 50,
  /** 5 per second on average from one source: one source alone cannot use up the throttle. */
  webhookWafRateLimit: 1500,
} as const;

export class SettingsError extends Error {
  constructor(problems: string[]) {
    super(`Invalid CDK context:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

/** Reads settings from a context lookup (`(key) => app.node.tryGetContext(key)`). */
export function readSettings(context: (key: string) => unknown): StackSettings {
  const problems: string[] = [];
  const text = (key: string): string | undefined => {
    const value = context(key);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') {
      problems.push(`${key}: must be a string`);
      return undefined;
    }
    return value.trim();
  };
  const whole = (key: string, fallback: number, min: number, max: number): number => {
    const value = context(key);
    if (value === undefined || value === null || value === '') return fallback;
    const n = typeof value === 'number' ? value : Number(String(value).trim());
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${key}: must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };

  const stage = text(CONTEXT_KEYS.stage) ?? DEFAULTS.stage;
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(stage)) {
    problems.push(
      'stage: lowercase letters, digits and dashes, starting with a letter, at most 20 characters',
    );
  }

  const calypsoBaseUrl = text(CONTEXT_KEYS.calypsoBaseUrl);
  if (!calypsoBaseUrl) {
    problems.push('calypsoBaseUrl: required (for example https://api.calypso.finance)');
  } else if (!isHttpsUrl(calypsoBaseUrl)) {
    problems.push('calypsoBaseUrl: must be an https:// URL');
  }

  const calypsoPathPrefix = text(CONTEXT_KEYS.calypsoPathPrefix) ?? DEFAULTS.calypsoPathPrefix;
  if (!/^\/[A-Za-z0-9/_.-]*$/.test(calypsoPathPrefix)) {
    problems.push('calypsoPathPrefix: must be a path starting with "/" (for example /api/v1)');
  }
  const calypsoWithdrawalsPath = text(CONTEXT_KEYS.calypsoWithdrawalsPath);
  if (
    calypsoWithdrawalsPath !== undefined &&
    !/^\/[A-Za-z0-9/_.-]*$/.test(calypsoWithdrawalsPath)
  ) {
    problems.push('calypsoWithdrawalsPath: must be a path starting with "/"');
  }

  const currencyOverrides = readCurrencyOverrides(
    context(CONTEXT_KEYS.currencyOverrides),
    problems,
  );

  const teams = jsonContext(context(CONTEXT_KEYS.teams), CONTEXT_KEYS.teams, problems);
  const auditors = jsonContext(context(CONTEXT_KEYS.auditors), CONTEXT_KEYS.auditors, problems);
  if (teams !== undefined || auditors !== undefined) {
    // The same check the functions run at cold start, with the context's names.
    const found: string[] = [];
    parseAccess(teams, auditors, found);
    problems.push(
      ...found.map((p) =>
        p.replace(/^TEAMS/, CONTEXT_KEYS.teams).replace(/^AUDITORS/, CONTEXT_KEYS.auditors),
      ),
    );
  }

  const payoutPolicy = jsonContext(
    context(CONTEXT_KEYS.payoutPolicy),
    CONTEXT_KEYS.payoutPolicy,
    problems,
  );
  if (payoutPolicy !== undefined) {
    // The same check the functions run at cold start, naming the context key.
    problems.push(...parsePolicy(JSON.parse(payoutPolicy), CONTEXT_KEYS.payoutPolicy).problems);
  }

  const reconcileRateMinutes = whole(
    CONTEXT_KEYS.reconcileRate,
    DEFAULTS.reconcileRateMinutes,
    1,
    60,
  );

  const alarmEmail = text(CONTEXT_KEYS.alarmEmail);
  if (alarmEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alarmEmail)) {
    problems.push('alarmEmail: must be an e-mail address');
  }

  const rateLimit = whole(CONTEXT_KEYS.apiRateLimit, DEFAULTS.apiRateLimit, 1, 10_000);
  const burstLimit = whole(CONTEXT_KEYS.apiBurstLimit, DEFAULTS.apiBurstLimit, 1, 5_000);

  const webhookRateLimit = whole(
    CONTEXT_KEYS.webhookRateLimit,
    DEFAULTS.webhookRateLimit,
    1,
    10_000,
  );
  const webhookBurstLimit = whole(
    CONTEXT_KEYS.webhookBurstLimit,
    DEFAULTS.webhookBurstLimit,
    1,
    5_000,
  );
  // WAF's own bounds for a rate-based rule over its default 5-minute window.
  const wafRateLimit = whole(
    CONTEXT_KEYS.webhookWafRateLimit,
    DEFAULTS.webhookWafRateLimit,
    10,
    2_000_000_000,
  );
  const allowedCidrs = readCidrs(context(CONTEXT_KEYS.webhookAllowedCidrs), problems);

  const functionSettings: Record<string, string> = {};
  const optionalWhole = (key: string, variable: string, min: number, max: number) => {
    const value = context(key);
    if (value === undefined || value === null || value === '') return;
    functionSettings[variable] = String(whole(key, min, min, max));
  };
  optionalWhole(CONTEXT_KEYS.stuckAfterMs, 'STUCK_AFTER_MS', 60_000, 30 * 24 * 3_600_000);
  optionalWhole(
    CONTEXT_KEYS.confirmationStuckAfterMs,
    'CONFIRMATION_STUCK_AFTER_MS',
    60_000,
    30 * 24 * 3_600_000,
  );
  optionalWhole(CONTEXT_KEYS.maxRecipients, 'MAX_RECIPIENTS', 1, 100_000);
  optionalWhole(CONTEXT_KEYS.executionDateHorizonDays, 'EXECUTION_DATE_HORIZON_DAYS', 1, 3_650);
  optionalWhole(CONTEXT_KEYS.calypsoFirstPage, 'CALYPSO_FIRST_PAGE', 0, 1);
  optionalWhole(CONTEXT_KEYS.singlePayoutMax, 'SINGLE_PAYOUT_MAX', 0, 1_000);
  optionalWhole(CONTEXT_KEYS.fundsWaitMaxMs, 'FUNDS_WAIT_MAX_MS', 60_000, 30 * 24 * 3_600_000);
  const optionalPercent = (key: string, variable: string) => {
    const value = context(key);
    if (value === undefined || value === null || value === '') return;
    const text = String(value).trim();
    if (/^(0|[1-9][0-9]{0,2})(\.[0-9]{1,6})?$/.test(text)) functionSettings[variable] = text;
    else problems.push(`${key}: must be a percentage as a decimal string, like "0.5"`);
  };
  optionalPercent(CONTEXT_KEYS.feeEstimatePercent, 'FEE_ESTIMATE_PERCENT');
  optionalPercent(CONTEXT_KEYS.feeEstimateMarginPercent, 'FEE_ESTIMATE_MARGIN_PERCENT');
  const fundsAlarmAfterMinutes = whole(
    CONTEXT_KEYS.fundsAlarmAfterMinutes,
    DEFAULTS.fundsAlarmAfterMinutes,
    1,
    30 * 24 * 60,
  );
  const testnet = context(CONTEXT_KEYS.testnetAddresses);
  if (testnet !== undefined && testnet !== null && testnet !== '') {
    const text = String(testnet).trim();
    if (text === 'true' || text === 'false') functionSettings.TESTNET_ADDRESSES = text;
    else problems.push(`${CONTEXT_KEYS.testnetAddresses}: must be true or false`);
  }

  const deferIndexes = readList(context(CONTEXT_KEYS.deferIndexes));
  const known = Object.values(TABLE.indexes).map((i) => i.name as string);
  for (const name of deferIndexes) {
    if (!known.includes(name))
      problems.push(`${CONTEXT_KEYS.deferIndexes}: ${name} is not an index (${known.join(', ')})`);
  }

  if (problems.length > 0) throw new SettingsError(problems);
  return {
    stage,
    calypsoBaseUrl: calypsoBaseUrl!,
    calypsoPathPrefix,
    ...(calypsoWithdrawalsPath !== undefined ? { calypsoWithdrawalsPath } : {}),
    ...(currencyOverrides !== undefined ? { currencyOverrides } : {}),
    ...(payoutPolicy !== undefined ? { payoutPolicy } : {}),
    ...(teams !== undefined ? { teams } : {}),
    ...(auditors !== undefined ? { auditors } : {}),
    reconcileRateMinutes,
    fundsAlarmAfterMinutes,
    functionSettings,
    deferIndexes,
    ...(alarmEmail !== undefined ? { alarmEmail } : {}),
    throttle: { rateLimit, burstLimit },
    webhook: {
      throttle: { rateLimit: webhookRateLimit, burstLimit: webhookBurstLimit },
      wafRateLimit,
      allowedCidrs,
    },
  };
}

/**
 * CIDR blocks as a JSON array or comma-separated text (from `-c`) or an array (from cdk.json);
 * each IPv4 `a.b.c.d/n` (n 1-32) or IPv6 `x::/n` (n 1-128), as WAF IP sets take them.
 */
function readCidrs(value: unknown, problems: string[]): string[] {
  if (value === undefined || value === null || value === '') return [];
  let list: unknown = value;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed.startsWith('[')) {
      try {
        list = JSON.parse(trimmed);
      } catch {
        problems.push('webhookAllowedCidrs: not valid JSON');
        return [];
      }
    } else {
      list = trimmed.split(',').map((part) => part.trim());
    }
  }
  if (!Array.isArray(list) || list.some((entry) => typeof entry !== 'string')) {
    problems.push('webhookAllowedCidrs: must be a list of CIDR blocks');
    return [];
  }
  const cidrs = (list as string[]).map((entry) => entry.trim()).filter(Boolean);
  const bad = cidrs.filter((cidr) => !isCidr(cidr));
  if (bad.length > 0) {
    problems.push(`webhookAllowedCidrs: not CIDR blocks: ${bad.join(', ')}`);
    return [];
  }
  return [...new Set(cidrs)];
}

function isCidr(value: string): boolean {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  if (!match) return false;
  const bits = Number(match[2]);
  if (isIPv4(match[1]!)) return bits >= 1 && bits <= 32;
  if (isIPv6(match[1]!)) return bits >= 1 && bits <= 128;
  return false;
}

/** IPv4 or IPv6, for WAF's one-version IP sets. */
export function isIPv4Cidr(cidr: string): boolean {
  return isIPv4(cidr.split('/')[0]!);
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

/** A JSON value given as a string (from `-c`) or as JSON (from cdk.json); compact JSON back. */
function jsonContext(value: unknown, key: string, problems: string[]): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(JSON.parse(value));
  } catch {
    problems.push(`${key}: not valid JSON`);
    return undefined;
  }
}

/** Accepts a JSON string (from `-c`) or an object (from cdk.json); returns compact JSON. */
function readCurrencyOverrides(value: unknown, problems: string[]): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      problems.push('currencyOverrides: not valid JSON');
      return undefined;
    }
  }
  try {
    // The same check the functions run at cold start.
    CurrencyRegistry.withOverrides(currencyOverridesSchema.parse(parsed));
  } catch (err) {
    problems.push(`currencyOverrides: ${(err as Error).message}`);
    return undefined;
  }
  return JSON.stringify(parsed);
}

/** A list given as a JSON array or comma-separated text (from `-c`) or an array (cdk.json). */
function readList(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  if (Array.isArray(value)) return value.map((v) => String(v).trim()).filter(Boolean);
  const text = String(value).trim();
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) return parsed.map((v) => String(v).trim()).filter(Boolean);
    } catch {
      // fall through: read as comma-separated text
    }
  }
  return text
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}
