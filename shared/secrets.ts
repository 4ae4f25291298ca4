/**
 * Calypso's secrets, kept apart by need: the API signing key (`{"apiKey", "secretKey",
 * "account"}`) for the functions that call Calypso, and the webhook subscriptions' keys
 * (`{"webhookKeys": [{"publicKey", "secretKey"}]}`) for the webhook alone. On AWS each comes from
 * its own Secrets Manager secret (cached for a TTL); locally from the environment.
 */
import * as z from 'zod/mini';
import type { CalypsoCredentials, Config } from './config.js';
import type { WebhookKeySource } from './payouts/ports.js';

const nonEmpty = z.string().check(z.minLength(1));

const apiSecretSchema = z.object({ apiKey: nonEmpty, secretKey: nonEmpty, account: nonEmpty });

const webhookSecretSchema = z.object({
  webhookKeys: z._default(z.array(z.object({ publicKey: nonEmpty, secretKey: nonEmpty })), []),
});

export type ReadSecret = (secretId: string) => Promise<string>;
export type CredentialsProvider = () => Promise<CalypsoCredentials>;

export function credentialsProvider(
  config: Config['credentials'],
  readSecret?: ReadSecret,
  now: () => number = Date.now,
): CredentialsProvider {
  if (config.source === 'environment') {
    const value = config.value;
    return () => Promise.resolve(value);
  }
  if (config.source === 'none') {
    return () =>
      Promise.reject(new Error('this function has no access to the Calypso API signing key'));
  }
  const secret = cachedSecret('the Calypso secret', config.secretArn, apiSecretSchema, {
    readSecret,
    ttlMs: config.cacheTtlMs,
    now,
  });
  return async () => {
    const { apiKey, secretKey, account } = await secret.get();
    return { apiKey, secretKey, account };
  };
}

/**
 * The webhook keys. `refresh` re-reads the secret at once, for a delivery whose Key we do not
 * know (a rotated subscription), but at most once per `refreshMinIntervalMs` in this container,
 * counting every read of the secret: a flood of made-up keys costs one read per interval.
 */
export function webhookKeySource(
  config: Config['webhookKeys'],
  readSecret?: ReadSecret,
  now: () => number = Date.now,
): WebhookKeySource {
  if (config.source === 'environment') {
    const value = config.value;
    return { current: () => Promise.resolve(value), refresh: () => Promise.resolve(undefined) };
  }
  if (config.source === 'none') {
    const refuse = () =>
      Promise.reject(new Error('this function has no access to the Calypso webhook keys'));
    return { current: refuse, refresh: refuse };
  }
  const secret = cachedSecret('the Calypso webhook secret', config.secretArn, webhookSecretSchema, {
    readSecret,
    ttlMs: config.cacheTtlMs,
    now,
  });
  return {
    current: async () => (await secret.get()).webhookKeys,
    refresh: async () => {
      const last = secret.lastReadAt();
      if (last !== undefined && now() - last < config.refreshMinIntervalMs) return undefined;
      return (await secret.reload()).webhookKeys;
    },
  };
}

interface CachedSecret<T> {
  /** The cached value, read again once the TTL has passed. */
  get(): Promise<T>;
  /** Reads the secret now, whatever the TTL (joins a read already under way). */
  reload(): Promise<T>;
  /** When the last read started (successful or not), if any. */
  lastReadAt(): number | undefined;
}

/** One secret, JSON-checked against its schema; concurrent callers share one read. */
function cachedSecret<T>(
  name: string,
  secretArn: string,
  schema: z.ZodMiniType<T>,
  options: { readSecret: ReadSecret | undefined; ttlMs: number; now: () => number },
): CachedSecret<T> {
  const { readSecret, ttlMs, now } = options;
  let cached: { value: T; expiresAt: number } | undefined;
  let inFlight: Promise<T> | undefined;
  let startedAt: number | undefined;
  const reload = () => {
    inFlight ??= (async () => {
      startedAt = now();
      try {
        if (!readSecret) throw new Error(`this function has no access to ${name}`);
        const text = await readSecret(secretArn);
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new Error(`${name} is not JSON`);
        }
        const checked = schema.safeParse(parsed);
        if (!checked.success) {
          // Name the fields, never the values.
          const fields = checked.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
          throw new Error(`${name} is missing or has invalid fields: ${fields}`);
        }
        cached = { value: checked.data, expiresAt: now() + ttlMs };
        return checked.data;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };
  return {
    get: () => (cached && cached.expiresAt > now() ? Promise.resolve(cached.value) : reload()),
    reload,
    lastReadAt: () => startedAt,
  };
}
