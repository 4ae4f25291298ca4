/**
 * The Calypso API as the use cases reach it: the signing client, instrumented, made for the
 * current API key and made again only when a rotation changes the key. Only the functions that
 * call Calypso import this (it carries the client and the signing code).
 */
import type { Config } from '../config.js';
import {
  systemClock,
  type CalypsoApi,
  type CalypsoProvider,
  type Clock,
} from '../payouts/ports.js';
import type { CredentialsProvider } from '../secrets.js';
import { CalypsoClient } from './client.js';
import { instrumentCalypso } from './instrumented.js';

export function signingCalypso(
  config: Config['calypso'],
  credentials: CredentialsProvider,
  clock: Clock = systemClock,
): CalypsoProvider {
  let client: { apiKey: string; value: CalypsoApi } | undefined;
  return async () => {
    const creds = await credentials();
    if (client?.apiKey !== creds.apiKey) {
      client = {
        apiKey: creds.apiKey,
        value: instrumentCalypso(
          new CalypsoClient(
            {
              baseUrl: config.baseUrl,
              pathPrefix: config.pathPrefix,
              withdrawalsPath: config.withdrawalsPath,
              timeoutMs: config.timeoutMs,
              firstPage: config.firstPage,
              apiKey: creds.apiKey,
              secretKey: creds.secretKey,
              account: creds.account,
            },
            { now: () => clock.now().getTime() },
          ),
        ),
      };
    }
    return client.value;
  };
}
