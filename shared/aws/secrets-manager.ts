/** Reads a secret's string from Secrets Manager (client created once per container). */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

let client: SecretsManagerClient | undefined;

export async function readSecret(secretId: string): Promise<string> {
  client ??= new SecretsManagerClient({});
  const result = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  return result.SecretString ?? '';
}
