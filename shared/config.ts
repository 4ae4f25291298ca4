/**
 * Typed configuration from the environment, validated once at cold start. Every value that may
 * differ between Calypso environments (host, prefix, limits, currencies) lives here.
 */
import * as z from 'zod/mini';
import { CurrencyRegistry, currencyOverridesSchema } from './domain/currencies.js';

const positiveInt = (fallback: number) =>
  z._default(
    z.pipe(
      z.string().check(z.regex(/^[1-9][0-9]*$/, 'must be a positive whole number')),
      z.transform((s) => Number(s)),
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
  CALYPSO_PATH_PREFIX: z._default(z.string(), '/api/v1'),
  CALYPSO_WITHDRAWALS_PATH: z._default(z.string(), '/payout/withdrawal/all'),
  CALYPSO_TIMEOUT_MS: positiveInt(10_000),
  /** Secrets Manager secret with the Calypso credentials (AWS); else the variables below. */
  CALYPSO_SECRET_ARN: z.optional(z.string().check(z.minLength(1))),
  CALYPSO_API_KEY: z.optional(z.string()),
  CALYPSO_SECRET_KEY: z.optional(z.string()),
  CALYPSO_ACCOUNT: z.optional(z.string()),
  CALYPSO_WEBHOOK_PUBLIC_KEY: z.optional(z.string()),
  CALYPSO_WEBHOOK_SECRET_KEY: z.optional(z.string()),
  SECRET_CACHE_TTL_MS: positiveInt(300_000),
  CURRENCY_OVERRIDES: z.optional(z.string()),
  MAX_RECIPIENTS: positiveInt(10_000),
  MAX_BODY_BYTES: positiveInt(5_000_000),
  EXECUTION_DATE_HORIZON_DAYS: positiveInt(90),
  TESTNET_ADDRESSES: flag,
  SUBMIT_CONCURRENCY: positiveInt(4),
  SUBMISSION_LEASE_MS: positiveInt(300_000),
  STUCK_AFTER_MS: positiveInt(6 * 60 * 60_000),
  POLL_INTERVAL_MS: positiveInt(60_000),
  RECONCILE_CONCURRENCY: positiveInt(8),
  WEBHOOK_RETENTION_DAYS: positiveInt(400),
  SUBMIT_FUNCTION_NAME: z.optional(z.string()),
  EVENT_BUS_NAME: z.optional(z.string()),
});

export interface Config {
  tableName: string;
  calypso: {
    baseUrl: string;
    pathPrefix: string;
    withdrawalsPath: string;
    timeoutMs: number;
  };
  credentials:
    | { source: 'secrets-manager'; secretArn: string; cacheTtlMs: number }
    | { source: 'environment'; value: CalypsoCredentials };
  currencies: CurrencyRegistry;
  maxRecipients: number;
  maxBodyBytes: number;
  /** How many days ahead a payout's executionDate may be. */
  executionDateHorizonDays: number;
  testnetAddresses: boolean;
  submitConcurrency: number;
  submissionLeaseMs: number;
  /** A batch with no progress for this long is flagged stuck. */
  stuckAfterMs: number;
  /** Shortest wait between two looks at an active batch (the reconciler's schedule period). */
  pollIntervalMs: number;
  reconcileConcurrency: number;
  webhookRetentionSeconds: number;
  submitFunctionName?: string;
  eventBusName?: string;
}

export interface CalypsoCredentials {
  apiKey: string;
  secretKey: string;
  account: string;
  /** Webhook subscription keys; several during a rotation. */
  webhookKeys: { publicKey: string; secretKey: string }[];
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

  let credentials: Config['credentials'] | undefined;
  if (e.CALYPSO_SECRET_ARN) {
    credentials = {
      source: 'secrets-manager',
      secretArn: e.CALYPSO_SECRET_ARN,
      cacheTtlMs: e.SECRET_CACHE_TTL_MS,
    };
  } else if (e.CALYPSO_API_KEY && e.CALYPSO_SECRET_KEY && e.CALYPSO_ACCOUNT) {
    const webhookKeys =
      e.CALYPSO_WEBHOOK_PUBLIC_KEY && e.CALYPSO_WEBHOOK_SECRET_KEY
        ? [{ publicKey: e.CALYPSO_WEBHOOK_PUBLIC_KEY, secretKey: e.CALYPSO_WEBHOOK_SECRET_KEY }]
        : [];
    credentials = {
      source: 'environment',
      value: {
        apiKey: e.CALYPSO_API_KEY,
        secretKey: e.CALYPSO_SECRET_KEY,
        account: e.CALYPSO_ACCOUNT,
        webhookKeys,
      },
    };
  } else {
    problems.push(
      'Calypso credentials: set CALYPSO_SECRET_ARN, or CALYPSO_API_KEY, CALYPSO_SECRET_KEY and CALYPSO_ACCOUNT',
    );
  }
  if (problems.length > 0 || !credentials) throw new ConfigError(problems);

  return {
    tableName: e.TABLE_NAME,
    calypso: {
      baseUrl: e.CALYPSO_BASE_URL,
      pathPrefix: e.CALYPSO_PATH_PREFIX,
      withdrawalsPath: e.CALYPSO_WITHDRAWALS_PATH,
      timeoutMs: e.CALYPSO_TIMEOUT_MS,
    },
    credentials,
    currencies,
    maxRecipients: e.MAX_RECIPIENTS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    executionDateHorizonDays: e.EXECUTION_DATE_HORIZON_DAYS,
    testnetAddresses: e.TESTNET_ADDRESSES,
    submitConcurrency: e.SUBMIT_CONCURRENCY,
    submissionLeaseMs: e.SUBMISSION_LEASE_MS,
    stuckAfterMs: e.STUCK_AFTER_MS,
    pollIntervalMs: e.POLL_INTERVAL_MS,
    reconcileConcurrency: e.RECONCILE_CONCURRENCY,
    webhookRetentionSeconds: e.WEBHOOK_RETENTION_DAYS * 86_400,
    ...(e.SUBMIT_FUNCTION_NAME ? { submitFunctionName: e.SUBMIT_FUNCTION_NAME } : {}),
    ...(e.EVENT_BUS_NAME ? { eventBusName: e.EVENT_BUS_NAME } : {}),
  };
}
