/**
 * Typed configuration from the environment, validated once at cold start. Every value that may
 * differ between Calypso environments (host, prefix, limits, currencies) lives here.
 */
import * as z from 'zod/mini';
import { CurrencyRegistry, currencyOverridesSchema } from './domain/currencies.js';
import { parsePolicy, type PayoutPolicyDocument } from './domain/policy.js';
import { DEFAULT_SINGLE_PAYOUT_MAX } from './domain/batching.js';
import { accessConfigProblems, NO_ACCESS_CONFIG, type AccessConfig } from './domain/identity.js';
import { CALYPSO_DEFAULTS, SERVICE_DEFAULTS } from './defaults.js';

const positiveInt = (fallback: number) =>
  z._default(
    z.pipe(
      z.string().check(z.regex(/^[1-9][0-9]*$/, 'must be a positive whole number')),
      z.transform((s) => Number(s)),
    ),
    fallback,
  );

const wholeNumber = (fallback: number) =>
  z._default(
    z.pipe(
      z.string().check(z.regex(/^(0|[1-9][0-9]*)$/, 'must be a whole number')),
      z.transform((s) => Number(s)),
    ),
    fallback,
  );

/** A percentage as a decimal string (`"0.5"`, `"25"`), kept as text: exact, never a float. */
const percentText = (fallback: string) =>
  z._default(
    z
      .string()
      .check(
        z.regex(/^(0|[1-9][0-9]{0,2})(\.[0-9]{1,6})?$/, 'must be a percentage like "0.5" or "25"'),
      ),
    fallback,
  );

const flag = z._default(
  z.pipe(
    z.enum(['true', 'false', '1', '0']),
    z.transform((s) => s === 'true' || s === '1'),
  ),
  false,
);

const envSchema = z.object({
  TABLE_NAME: z.string().check(z.minLength(1)),
  CALYPSO_BASE_URL: z.url(),
  CALYPSO_PATH_PREFIX: z._default(z.string(), CALYPSO_DEFAULTS.pathPrefix),
  CALYPSO_WITHDRAWALS_PATH: z._default(z.string(), CALYPSO_DEFAULTS.withdrawalsPath),
  CALYPSO_TIMEOUT_MS: positiveInt(CALYPSO_DEFAULTS.timeoutMs),
  /** The index of a listing's first page; Calypso does not say (its guide's example shows 1). */
  CALYPSO_FIRST_PAGE: z._default(z.enum(['0', '1']), `${CALYPSO_DEFAULTS.firstPage}`),
  /** Secrets Manager secret with the Calypso API signing key (AWS); else the variables below. */
  CALYPSO_SECRET_ARN: z.optional(z.string().check(z.minLength(1))),
  /** Secrets Manager secret with the webhook verification keys (AWS); else the variables below. */
  CALYPSO_WEBHOOK_SECRET_ARN: z.optional(z.string().check(z.minLength(1))),
  CALYPSO_API_KEY: z.optional(z.string()),
  CALYPSO_SECRET_KEY: z.optional(z.string()),
  CALYPSO_ACCOUNT: z.optional(z.string()),
  CALYPSO_WEBHOOK_PUBLIC_KEY: z.optional(z.string()),
  CALYPSO_WEBHOOK_SECRET_KEY: z.optional(z.string()),
  SECRET_CACHE_TTL_MS: positiveInt(300_000),
  WEBHOOK_KEYS_REFRESH_MIN_INTERVAL_MS: positiveInt(30_000),
  CURRENCY_OVERRIDES: z.optional(z.string()),
  MAX_RECIPIENTS: positiveInt(10_000),
  MAX_BODY_BYTES: positiveInt(SERVICE_DEFAULTS.maxBodyBytes),
  EXECUTION_DATE_HORIZON_DAYS: positiveInt(90),
  TESTNET_ADDRESSES: flag,
  SUBMIT_CONCURRENCY: positiveInt(4),
  SUBMISSION_LEASE_MS: positiveInt(SERVICE_DEFAULTS.submissionLeaseMs),
  STUCK_AFTER_MS: positiveInt(6 * 60 * 60_000),
  CONFIRMATION_STUCK_AFTER_MS: positiveInt(24 * 60 * 60_000),
  POLL_INTERVAL_MS: positiveInt(60_000),
  RECONCILE_CONCURRENCY: positiveInt(8),
  /** A payout of at most this many recipients goes as single payouts; 0: always mass payouts. */
  SINGLE_PAYOUT_MAX: wholeNumber(DEFAULT_SINGLE_PAYOUT_MAX),
  /** How long a batch may wait for funds before it ends UNFUNDED (FAILED), nothing sent. */
  FUNDS_WAIT_MAX_MS: positiveInt(72 * 60 * 60_000),
  /** Calypso's fee percentage assumed before any payout of the currency has shown the real one. */
  FEE_ESTIMATE_PERCENT: percentText('1'),
  /** Added on top of the fee estimate, in percent of it. */
  FEE_ESTIMATE_MARGIN_PERCENT: percentText('25'),
  WEBHOOK_RETENTION_DAYS: positiveInt(400),
  /** JSON payout policy (shared/domain/policy.ts): approvals, limits, operators. */
  PAYOUT_POLICY: z.optional(z.string()),
  /** JSON `{"team": ["arn:aws:iam::ACCT:role/NAME", ...]}`: who owns payouts together. */
  TEAMS: z.optional(z.string()),
  /** JSON `["arn:...", "team"]`: principals or teams that may read every payout. */
  AUDITORS: z.optional(z.string()),
  SUBMIT_FUNCTION_NAME: z.optional(z.string()),
  APPLY_WEBHOOK_FUNCTION_NAME: z.optional(z.string()),
  BALANCES_FUNCTION_NAME: z.optional(z.string()),
  EVENT_BUS_NAME: z.optional(z.string()),
});

export interface Config {
  tableName: string;
  calypso: {
    baseUrl: string;
    pathPrefix: string;
    withdrawalsPath: string;
    timeoutMs: number;
    /** The index of the first page of a withdrawal listing: 0 or 1. */
    firstPage: 0 | 1;
  };
  /**
   * The API signing key. `none` in a function that was given no access to it (on AWS only the
   * functions that call Calypso get it); using it there fails, naming the reason.
   */
  credentials:
    | { source: 'secrets-manager'; secretArn: string; cacheTtlMs: number }
    | { source: 'environment'; value: CalypsoCredentials }
    | { source: 'none' };
  /** The webhook subscriptions' keys, kept apart from the signing key (only the webhook reads them). */
  webhookKeys:
    | {
        source: 'secrets-manager';
        secretArn: string;
        cacheTtlMs: number;
        /** An unknown Key header re-reads the secret at most this often per container. */
        refreshMinIntervalMs: number;
      }
    | { source: 'environment'; value: WebhookKey[] }
    | { source: 'none' };
  currencies: CurrencyRegistry;
  /** Teams and auditors: who owns a payout and who may read all of them. */
  access: AccessConfig;
  /** The payout policy; absent: nothing is held or limited. */
  policy?: PayoutPolicyDocument;
  maxRecipients: number;
  maxBodyBytes: number;
  /** How many days ahead a payout's executionDate may be. */
  executionDateHorizonDays: number;
  testnetAddresses: boolean;
  submitConcurrency: number;
  submissionLeaseMs: number;
  /** A batch with no progress for this long is flagged stuck. */
  stuckAfterMs: number;
  /** Instead of stuckAfterMs while Calypso holds the batch in PENDING_CONFIRMATION. */
  confirmationStuckAfterMs: number;
  /** Shortest wait between two looks at an active batch (the reconciler's schedule period). */
  pollIntervalMs: number;
  reconcileConcurrency: number;
  /** Payouts of at most this many recipients go as single payouts (0: never). */
  singlePayoutMax: number;
  funds: FundsConfig;
  webhookRetentionSeconds: number;
  submitFunctionName?: string;
  /** The function that applies stored webhook events (async-invoked by the webhook route). */
  applyWebhookFunctionName?: string;
  /** The get-balances function, read by a dry run that has no signing key of its own. */
  balancesFunctionName?: string;
  eventBusName?: string;
}

/** The funds check before sending (shared/domain/funds.ts). */
export interface FundsConfig {
  /** A batch waiting for funds longer than this ends UNFUNDED, nothing sent. */
  waitMaxMs: number;
  /** Calypso's fee in percent of each payment, until a payout of the currency shows it. */
  defaultFeePercent: string;
  /** Percent added on top of the fee estimate. */
  marginPercent: string;
}

/** What signs Calypso API requests. */
export interface CalypsoCredentials {
  apiKey: string;
  secretKey: string;
  account: string;
}

/** One webhook subscription's keys; several are accepted at once during a rotation. */
export interface WebhookKey {
  publicKey: string;
  secretKey: string;
}

export class ConfigError extends Error {
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];

  let currencies = new CurrencyRegistry();
  if (e.CURRENCY_OVERRIDES) {
    try {
      currencies = CurrencyRegistry.withOverrides(
        currencyOverridesSchema.parse(JSON.parse(e.CURRENCY_OVERRIDES)),
      );
    } catch (err) {
      problems.push(`CURRENCY_OVERRIDES: ${(err as Error).message}`);
    }
  }

  const access = parseAccess(e.TEAMS, e.AUDITORS, problems);
  let policy: PayoutPolicyDocument | undefined;
  if (e.PAYOUT_POLICY) {
    const parsed = parsePolicy(parseJson(e.PAYOUT_POLICY, 'PAYOUT_POLICY', problems));
    problems.push(...parsed.problems);
    policy = parsed.policy;
  }

  const apiEnv = [e.CALYPSO_API_KEY, e.CALYPSO_SECRET_KEY, e.CALYPSO_ACCOUNT];
  let credentials: Config['credentials'] = { source: 'none' };
  if (e.CALYPSO_SECRET_ARN) {
    credentials = {
      source: 'secrets-manager',
      secretArn: e.CALYPSO_SECRET_ARN,
      cacheTtlMs: e.SECRET_CACHE_TTL_MS,
    };
  } else if (e.CALYPSO_API_KEY && e.CALYPSO_SECRET_KEY && e.CALYPSO_ACCOUNT) {
    credentials = {
      source: 'environment',
      value: {
        apiKey: e.CALYPSO_API_KEY,
        secretKey: e.CALYPSO_SECRET_KEY,
        account: e.CALYPSO_ACCOUNT,
      },
    };
  } else if (apiEnv.some(Boolean)) {
    problems.push(
      'Calypso credentials: set all of CALYPSO_API_KEY, CALYPSO_SECRET_KEY and CALYPSO_ACCOUNT, or CALYPSO_SECRET_ARN',
    );
  }

  let webhookKeys: Config['webhookKeys'] = { source: 'none' };
  if (e.CALYPSO_WEBHOOK_SECRET_ARN) {
    webhookKeys = {
      source: 'secrets-manager',
      secretArn: e.CALYPSO_WEBHOOK_SECRET_ARN,
      cacheTtlMs: e.SECRET_CACHE_TTL_MS,
      refreshMinIntervalMs: e.WEBHOOK_KEYS_REFRESH_MIN_INTERVAL_MS,
    };
  } else if (e.CALYPSO_WEBHOOK_PUBLIC_KEY && e.CALYPSO_WEBHOOK_SECRET_KEY) {
    webhookKeys = {
      source: 'environment',
      value: [{ publicKey: e.CALYPSO_WEBHOOK_PUBLIC_KEY, secretKey: e.CALYPSO_WEBHOOK_SECRET_KEY }],
    };
  } else if (credentials.source === 'environment') {
    // Locally, before the webhook is registered: no keys yet, every delivery is refused.
    webhookKeys = { source: 'environment', value: [] };
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    tableName: e.TABLE_NAME,
    calypso: {
      baseUrl: e.CALYPSO_BASE_URL,
      pathPrefix: e.CALYPSO_PATH_PREFIX,
      withdrawalsPath: e.CALYPSO_WITHDRAWALS_PATH,
      timeoutMs: e.CALYPSO_TIMEOUT_MS,
      firstPage: e.CALYPSO_FIRST_PAGE === '1' ? 1 : 0,
    },
    credentials,
    webhookKeys,
    currencies,
    access,
    ...(policy ? { policy } : {}),
    maxRecipients: e.MAX_RECIPIENTS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    executionDateHorizonDays: e.EXECUTION_DATE_HORIZON_DAYS,
    testnetAddresses: e.TESTNET_ADDRESSES,
    submitConcurrency: e.SUBMIT_CONCURRENCY,
    submissionLeaseMs: e.SUBMISSION_LEASE_MS,
    stuckAfterMs: e.STUCK_AFTER_MS,
    confirmationStuckAfterMs: e.CONFIRMATION_STUCK_AFTER_MS,
    pollIntervalMs: e.POLL_INTERVAL_MS,
    reconcileConcurrency: e.RECONCILE_CONCURRENCY,
    singlePayoutMax: e.SINGLE_PAYOUT_MAX,
    funds: {
      waitMaxMs: e.FUNDS_WAIT_MAX_MS,
      defaultFeePercent: e.FEE_ESTIMATE_PERCENT,
      marginPercent: e.FEE_ESTIMATE_MARGIN_PERCENT,
    },
    webhookRetentionSeconds: e.WEBHOOK_RETENTION_DAYS * 86_400,
    ...(e.SUBMIT_FUNCTION_NAME ? { submitFunctionName: e.SUBMIT_FUNCTION_NAME } : {}),
    ...(e.APPLY_WEBHOOK_FUNCTION_NAME
      ? { applyWebhookFunctionName: e.APPLY_WEBHOOK_FUNCTION_NAME }
      : {}),
    ...(e.BALANCES_FUNCTION_NAME ? { balancesFunctionName: e.BALANCES_FUNCTION_NAME } : {}),
    ...(e.EVENT_BUS_NAME ? { eventBusName: e.EVENT_BUS_NAME } : {}),
  };
}

const teamsSchema = z.record(z.string(), z.array(z.string()));
const auditorsSchema = z.array(z.string());

function parseJson(text: string, field: string, problems: string[]): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    problems.push(`${field}: not JSON (${(err as Error).message})`);
    return undefined;
  }
}

/** TEAMS and AUDITORS, checked together (an auditor may name a team). */
export function parseAccess(
  teamsText: string | undefined,
  auditorsText: string | undefined,
  problems: string[],
): AccessConfig {
  const before = problems.length;
  const teamsRaw = teamsText ? parseJson(teamsText, 'TEAMS', problems) : {};
  const auditorsRaw = auditorsText ? parseJson(auditorsText, 'AUDITORS', problems) : [];
  const teams = teamsSchema.safeParse(teamsRaw);
  if (teamsRaw !== undefined && !teams.success) {
    problems.push('TEAMS: must be an object of team name to a list of principal ARNs');
  }
  const auditors = auditorsSchema.safeParse(auditorsRaw);
  if (auditorsRaw !== undefined && !auditors.success) {
    problems.push('AUDITORS: must be a list of principal ARNs or team names');
  }
  if (problems.length > before || !teams.success || !auditors.success) return NO_ACCESS_CONFIG;
  const access = { teams: teams.data, auditors: auditors.data };
  problems.push(...accessConfigProblems(access));
  return access;
}
