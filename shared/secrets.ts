/**
 * Calypso credentials: from Secrets Manager on AWS (cached for a TTL, refreshed on expiry), or
 * from the environment locally. The secret's JSON shape:
 * `{"apiKey", "secretKey", "account", "webhookKeys": [{"publicKey", "secretKey"}]}`.
 */
import * as z from 'zod/mini';
import type { CalypsoCredentials, Config } from './config.js';

const secretSchema = z.object({
  apiKey: z.string().check(z.minLength(1)),
  secretKey: z.string().check(z.minLength(1)),
  account: z.string().check(z.minLength(1)),
  webhookKeys: z._default(
    z.array(
      z.object({
        publicKey: z.string().check(z.minLength(1)),
        secretKey: z.string().check(z.minLength(1)),
      }),
    ),
    [],
  ),
});

export type CredentialsProvider = () => Promise<CalypsoCredentials>;

export function credentialsProvider(
  config: Config['credentials'],
  readSecret?: (secretId: string) => Promise<string>,
  now: () => number = Date.now,
): CredentialsProvider {
  if (config.source === 'environment') {
    const value = config.value;
    return () => Promise.resolve(value);
  }
  let cached: { value: CalypsoCredentials; expiresAt: number } | undefined;
  let inFlight: Promise<CalypsoCredentials> | undefined;
  return async () => {
    if (cached && cached.expiresAt > now()) return cached.value;
    inFlight ??= (async () => {
      try {
        if (!readSecret) throw new Error('this function has no access to the Calypso secret');
        const text = await readSecret(config.secretArn);
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new Error('the Calypso secret is not JSON');
        }
        const checked = secretSchema.safeParse(parsed);
        if (!checked.success) {
          // Name the fields, never the values.
          const fields = checked.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
          throw new Error(`the Calypso secret is missing or has invalid fields: ${fields}`);
        }
        cached = { value: checked.data, expiresAt: now() + config.cacheTtlMs };
        return checked.data;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };
}
