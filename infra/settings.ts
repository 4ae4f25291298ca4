/**
 * The deployment's parameters, from CDK context (`cdk.json` or `-c key=value`), checked at synth
 * so a bad value fails `cdk synth` instead of a function's cold start.
 */
import { parseAccess } from '../shared/config.js';
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
  /** Teams (TEAMS) and auditors (AUDITORS) as compact JSON, already validated. */
  teams?: string;
  auditors?: string;
  /** Minutes between reconciler runs. */
  reconcileRateMinutes: number;
  alarmEmail?: string;
  throttle: { rateLimit: number; burstLimit: number };
}

/** The context keys this app reads, with what each means (the deploy guide lists them too). */
export const CONTEXT_KEYS = {
  stage: 'stage',
  calypsoBaseUrl: 'calypsoBaseUrl',
  calypsoPathPrefix: 'calypsoPathPrefix',
  calypsoWithdrawalsPath: 'calypsoWithdrawalsPath',
  currencyOverrides: 'currencyOverrides',
  teams: 'teams',
  auditors: 'auditors',
  reconcileRate: 'reconcileRate',
  alarmEmail: 'alarmEmail',
  apiRateLimit: 'apiRateLimit',
  apiBurstLimit: 'apiBurstLimit',
} as const;

export const DEFAULTS = {
  stage: 'dev',
  calypsoPathPrefix: '/api/v1',
  reconcileRateMinutes: 1,
  apiRateLimit: 50,
  apiBurstLimit: 100,
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

  if (problems.length > 0) throw new SettingsError(problems);
  return {
    stage,
    calypsoBaseUrl: calypsoBaseUrl!,
    calypsoPathPrefix,
    ...(calypsoWithdrawalsPath !== undefined ? { calypsoWithdrawalsPath } : {}),
    ...(currencyOverrides !== undefined ? { currencyOverrides } : {}),
    ...(teams !== undefined ? { teams } : {}),
    ...(auditors !== undefined ? { auditors } : {}),
    reconcileRateMinutes,
    ...(alarmEmail !== undefined ? { alarmEmail } : {}),
    throttle: { rateLimit, burstLimit },
  };
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
