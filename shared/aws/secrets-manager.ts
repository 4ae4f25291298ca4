/** Reads a secret's string from Secrets Manager (client created once per container). */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { oncePerContainer, sdkClientSettings } from './client.js';

const secretsManager = oncePerContainer(() => new SecretsManagerClient(sdkClientSettings));

export async function readSecret(secretId: string): Promise<string> {
  const result = await secretsManager().send(new GetSecretValueCommand({ SecretId: secretId }));
  return result.SecretString ?? '';
}
