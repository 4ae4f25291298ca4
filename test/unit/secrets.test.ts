import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { readSecret } from '../../shared/aws/secrets-manager.js';
import { credentialsProvider } from '../../shared/secrets.js';

const secretsManager = mockClient(SecretsManagerClient);
afterEach(() => secretsManager.reset());

const value = {
  apiKey: 'pub',
  secretKey: 'very-secret',
  account: 'acc',
  webhookKeys: [{ publicKey: 'wp', secretKey: 'ws' }],
};
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

  it('fails clearly in a function that was given no access to the secret', async () => {
    await expect(credentialsProvider(config)()).rejects.toThrow(/no access to the Calypso secret/);
  });
});
