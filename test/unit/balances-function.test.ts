/**
 * create-payout's dry run reads balances through the get-balances function (mocked Lambda
 * client), since it holds no signing key: what it sends, and how each kind of answer reads.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { balancesFunctionCalypso } from '../../shared/aws/balances-function.js';

const lambda = mockClient(LambdaClient);
afterEach(() => lambda.reset());

const answer = (reply: unknown, functionError?: string) => ({
  StatusCode: 200,
  Payload: Buffer.from(JSON.stringify(reply)) as unknown as Uint8Array,
  ...(functionError ? { FunctionError: functionError } : {}),
});

describe('balancesFunctionCalypso', () => {
  it('invokes GET /balances synchronously and reads exact amounts', async () => {
    lambda.on(InvokeCommand).resolves(
      answer({
        statusCode: 200,
        body: JSON.stringify({
          account: 'acc-1',
          balances: [{ currency: 'BTC', amount: '123456789.123456789012345678' }],
        }),
      }) as never,
    );
    const account = await balancesFunctionCalypso('get-balances-fn').getAccount();
    expect(account.balances.map((b) => [b.currency, b.amount.toString()])).toEqual([
      ['BTC', '123456789.123456789012345678'],
    ]);
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input.FunctionName).toBe('get-balances-fn');
    expect(input.InvocationType).toBe('RequestResponse');
    const event = JSON.parse(Buffer.from(input.Payload as Uint8Array).toString('utf8')) as {
      httpMethod: string;
      path: string;
    };
    expect([event.httpMethod, event.path]).toEqual(['GET', '/balances']);
  });

  it('fails on a problem answer, a function error or an unreadable body', async () => {
    const calypso = balancesFunctionCalypso('fn');
    lambda
      .on(InvokeCommand)
      .resolvesOnce(answer({ statusCode: 502, body: '{}' }) as never)
      .resolvesOnce(answer({ errorMessage: 'boom' }, 'Unhandled') as never)
      .resolvesOnce(
        answer({
          statusCode: 200,
          body: '{"balances":[{"currency":"BTC","amount":"x"}]}',
        }) as never,
      );
    await expect(calypso.getAccount()).rejects.toThrow(/fn answered 502/);
    await expect(calypso.getAccount()).rejects.toThrow(/fn failed: Unhandled/);
    await expect(calypso.getAccount()).rejects.toThrow(/unreadable account/);
  });

  it('can do nothing but read balances', async () => {
    const calypso = balancesFunctionCalypso('fn');
    await expect(calypso.createMassPayout({} as never)).rejects.toThrow(/reads balances only/);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });
});
