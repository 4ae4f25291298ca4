/**
 * Reading Calypso's two secrets from Secrets Manager (mocked SDK client): the API signing key
 * with its cache, and the webhook keys, refreshed once per window for an unknown Key so a
 * rotated subscription is accepted without waiting for the cache to expire.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookResponse } from '../../functions/calypso-webhook.js';
import { readSecret } from '../../shared/aws/secrets-manager.js';
import { sign } from '../../shared/calypso/signing.js';
import { problemOf } from '../../shared/http/problem.js';
import {
  receiveWebhook,
  type WebhookDeps,
  type WebhookOutcome,
} from '../../shared/payouts/webhooks.js';
import { credentialsProvider, webhookKeySource } from '../../shared/secrets.js';
import type { PayoutRepository } from '../../shared/store/payout-repository.js';

const secretsManager = mockClient(SecretsManagerClient);
afterEach(() => secretsManager.reset());

const value = { apiKey: 'pub', secretKey: 'very-secret', account: 'acc' };
const config = {
  source: 'secrets-manager' as const,
  secretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:calypso',
  cacheTtlMs: 1000,
};

describe('Calypso credentials from Secrets Manager', () => {
  it('reads the secret once per TTL and again after it', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(value) });
    let now = 0;
    const credentials = credentialsProvider(config, readSecret, () => now);
    expect(await credentials()).toEqual(value);
    await Promise.all([credentials(), credentials()]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(secretsManager.commandCalls(GetSecretValueCommand)[0]!.args[0].input.SecretId).toBe(
      config.secretArn,
    );
    now = 1001;
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ ...value, apiKey: 'rotated' }) });
    expect((await credentials()).apiKey).toBe('rotated');
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('shares one read between concurrent callers', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(value) });
    const credentials = credentialsProvider(config, readSecret, () => 0);
    await Promise.all(Array.from({ length: 5 }, () => credentials()));
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('names missing fields but never echoes the secret', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ apiKey: 'pub', secretKey: 'very-secret' }) });
    const err = await credentialsProvider(config, readSecret)().catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/account/);
    expect((err as Error).message).not.toMatch(/very-secret/);
  });

  it('refuses a secret that is not JSON, and does not cache a failure', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'very-secret' })
      .resolves({ SecretString: JSON.stringify(value) });
    const credentials = credentialsProvider(config, readSecret, () => 0);
    await expect(credentials()).rejects.toThrow(/not JSON/);
    expect(await credentials()).toEqual(value);
  });

  it('still reads a secret of the older shape that also held webhookKeys, returning no keys', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ ...value, webhookKeys: [{ publicKey: 'p', secretKey: 's' }] }),
    });
    expect(await credentialsProvider(config, readSecret)()).toEqual(value);
  });

  it('fails clearly in a function that was given no access to the secret', async () => {
    await expect(credentialsProvider(config)()).rejects.toThrow(/no access to the Calypso secret/);
    await expect(credentialsProvider({ source: 'none' })()).rejects.toThrow(
      /no access to the Calypso API signing key/,
    );
  });
});

describe('webhook keys from their own secret', () => {
  const OLD = { publicKey: 'pk-old', secretKey: 'sk-old' };
  const NEW = { publicKey: 'pk-new', secretKey: 'sk-new' };
  const webhookConfig = {
    source: 'secrets-manager' as const,
    secretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:calypso-webhook',
    cacheTtlMs: 300_000,
    refreshMinIntervalMs: 30_000,
  };
  const holding = (...keys: { publicKey: string; secretKey: string }[]) => ({
    SecretString: JSON.stringify({ webhookKeys: keys }),
  });
  const reads = () => secretsManager.commandCalls(GetSecretValueCommand).length;
  /** The status the webhook route answers for an outcome (a refusal is thrown as a problem). */
  const statusOf = (outcome: WebhookOutcome) => {
    try {
      return webhookResponse(outcome).statusCode;
    } catch (err) {
      return problemOf(err).status;
    }
  };

  /** A signed body we do not understand: stored as malformed and answered 200 past the check. */
  const BODY = '{"note":"signature path only"}';
  function webhook(now: () => number) {
    const stored: string[] = [];
    const repository = {
      putWebhookEvent: (record: { eventId: string }) => {
        stored.push(record.eventId);
        return Promise.resolve(true);
      },
    } as unknown as PayoutRepository;
    const deps: WebhookDeps = {
      repository,
      webhookKeys: webhookKeySource(webhookConfig, readSecret, now),
      clock: { now: () => new Date(now()) },
      apply: { trigger: () => Promise.resolve() },
      retentionSeconds: 60,
    };
    const deliver = async (key: { publicKey: string; secretKey: string }) =>
      statusOf(
        await receiveWebhook(deps, BODY, { Key: key.publicKey, Sign: sign(BODY, key.secretKey) }),
      );
    return { deliver, stored };
  }

  it('reads only the webhook secret, never the signing one', async () => {
    secretsManager.on(GetSecretValueCommand).resolves(holding(OLD));
    expect(await webhookKeySource(webhookConfig, readSecret).current()).toEqual([OLD]);
    expect(
      secretsManager.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId),
    ).toEqual([webhookConfig.secretArn]);
  });

  it('accepts a rotated key after one refresh, well before the cache would expire', async () => {
    secretsManager.on(GetSecretValueCommand).resolvesOnce(holding(OLD)).resolves(holding(OLD, NEW));
    let now = 0;
    const { deliver, stored } = webhook(() => now);
    expect(await deliver(OLD)).toBe(200);
    expect(reads()).toBe(1);

    now = 31_000; // the new subscription's first delivery, 4.5 minutes before the TTL
    expect(await deliver(NEW)).toBe(200);
    expect(reads()).toBe(2);
    expect(stored).toHaveLength(2);

    // The refreshed keys are the cache now: no further reads for either key.
    expect(await deliver(NEW)).toBe(200);
    expect(await deliver(OLD)).toBe(200);
    expect(reads()).toBe(2);
  });

  it('refreshes at most once per window under a flood of unknown keys', async () => {
    secretsManager.on(GetSecretValueCommand).resolves(holding(OLD));
    let now = 0;
    const { deliver, stored } = webhook(() => now);
    expect(await deliver(OLD)).toBe(200);
    expect(reads()).toBe(1);

    // Inside the window of the first read: refused without reading again.
    now = 10_000;
    const early = await Promise.all(
      Array.from({ length: 50 }, (_, i) => deliver({ publicKey: `forged-${i}`, secretKey: 'x' })),
    );
    expect(early.every((status) => status === 401)).toBe(true);
    expect(reads()).toBe(1);

    // The window has passed: the concurrent flood shares one read.
    now = 30_000;
    const flood = await Promise.all(
      Array.from({ length: 50 }, (_, i) => deliver({ publicKey: `forged-${i}`, secretKey: 'x' })),
    );
    expect(flood.every((status) => status === 401)).toBe(true);
    expect(reads()).toBe(2);

    // One after another, still within that window: no more reads.
    now = 59_999;
    for (let i = 0; i < 20; i++)
      expect(await deliver({ publicKey: `late-${i}`, secretKey: 'x' })).toBe(401);
    expect(reads()).toBe(2);
    now = 60_000;
    expect(await deliver({ publicKey: 'next-window', secretKey: 'x' })).toBe(401);
    expect(reads()).toBe(3);
    expect(stored).toHaveLength(1);
  });

  it('answers 401, not an error, when the refresh cannot read the secret; known keys still pass', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce(holding(OLD))
      .rejects(new Error('AccessDeniedException'));
    let now = 0;
    const { deliver } = webhook(() => now);
    expect(await deliver(OLD)).toBe(200);
    now = 40_000;
    expect(await deliver(NEW)).toBe(401);
    expect(await deliver(OLD)).toBe(200);
    expect(reads()).toBe(2);
  });

  it('does not refresh for a bad signature under a known key', async () => {
    secretsManager.on(GetSecretValueCommand).resolves(holding(OLD));
    let now = 0;
    const { deliver } = webhook(() => now);
    expect(await deliver(OLD)).toBe(200);
    now = 40_000;
    expect(await deliver({ publicKey: OLD.publicKey, secretKey: 'wrong' })).toBe(401);
    expect(reads()).toBe(1);
  });

  it('keeps the keys from the environment as they are (nothing to refresh)', async () => {
    const source = webhookKeySource({ source: 'environment', value: [OLD] });
    expect(await source.current()).toEqual([OLD]);
    expect(await source.refresh()).toBeUndefined();
    await expect(webhookKeySource({ source: 'none' }).current()).rejects.toThrow(
      /no access to the Calypso webhook keys/,
    );
  });
});
