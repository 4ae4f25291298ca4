/**
 * Reads the Calypso balances through the get-balances function (a synchronous Lambda invoke of
 * `GET /balances`), for a function that may not hold the API signing key itself: create-payout's
 * dry run checks the balance this way, so a leak there cannot sign a payout.
 */
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { accountSchema } from '../calypso/schemas.js';
import type { Config } from '../config.js';
import type { CalypsoApi, CalypsoProvider } from '../payouts/ports.js';
import { lambdaClient } from './lambda.js';

/** A Calypso API that can only read the account's balances, through `functionName`. */
export function balancesFunctionCalypso(functionName: string): CalypsoApi {
  const refuse = (operation: string) => () =>
    Promise.reject(new Error(`${operation}: this function reads balances only`));
  return {
    getAccount: async () => {
      const result = await lambdaClient().send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'RequestResponse',
          // The proxy event API Gateway would send for GET /balances.
          Payload: Buffer.from(
            JSON.stringify({
              httpMethod: 'GET',
              path: '/balances',
              resource: '/balances',
              headers: {},
              multiValueHeaders: {},
              queryStringParameters: null,
              pathParameters: null,
              body: null,
              isBase64Encoded: false,
              requestContext: {},
            }),
          ),
        }),
      );
      const text = Buffer.from(result.Payload ?? new Uint8Array()).toString('utf8');
      if (result.FunctionError) throw new Error(`${functionName} failed: ${result.FunctionError}`);
      const reply = JSON.parse(text) as { statusCode?: number; body?: string };
      if (reply.statusCode !== 200 || typeof reply.body !== 'string') {
        throw new Error(`${functionName} answered ${String(reply.statusCode)}`);
      }
      const parsed = accountSchema.safeParse(JSON.parse(reply.body));
      if (!parsed.success) throw new Error(`${functionName} answered an unreadable account`);
      return parsed.data;
    },
    createMassPayout: refuse('createMassPayout'),
    getMassPayout: refuse('getMassPayout'),
    listWithdrawals: refuse('listWithdrawals'),
    createPayout: refuse('createPayout'),
    getPayout: refuse('getPayout'),
  };
}

/** Calypso for a function without the signing key: balances through the configured function. */
export function balancesCalypso(config: Pick<Config, 'balancesFunctionName'>): CalypsoProvider {
  if (!config.balancesFunctionName) {
    return () =>
      Promise.reject(new Error('this function has no access to the Calypso API signing key'));
  }
  const api = balancesFunctionCalypso(config.balancesFunctionName);
  return () => Promise.resolve(api);
}
