/**
 * Calypso for a function that holds the API signing key: the key read from its Secrets Manager
 * secret (cached for a TTL), the signing client made once per key.
 */
import { signingCalypso } from '../calypso/provider.js';
import type { Config } from '../config.js';
import type { CalypsoProvider } from '../payouts/ports.js';
import { credentialsProvider } from '../secrets.js';
import { readSecret } from './secrets-manager.js';

export function secretSigningCalypso(
  config: Pick<Config, 'calypso' | 'credentials'>,
): CalypsoProvider {
  return signingCalypso(config.calypso, credentialsProvider(config.credentials, readSecret));
}
