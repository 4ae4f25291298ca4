/**
 * The functions' observability: metrics in the namespace and the one dimension the alarms watch,
 * published once per invocation by both handler kinds; the correlation id each handler makes
 * current; every Calypso call measured, and a failed one counted.
 */
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { CalypsoError, CalypsoNotFoundError } from '../../shared/calypso/errors.js';
import { instrumentCalypso } from '../../shared/calypso/instrumented.js';
import { backgroundHandler } from '../../shared/background-handler.js';
import { currentCorrelationId } from '../../shared/correlation.js';
import { apiHandler } from '../../shared/http/api-handler.js';
import { json } from '../../shared/http/middleware.js';
import { emitMetrics, metrics, publishMetrics } from '../../shared/metrics.js';
import type { CalypsoApi } from '../../shared/payouts/ports.js';
import { METRICS_NAMESPACE, SERVICE_DIMENSION } from '../../infra/metric-names.js';
import { buffered } from '../support/metrics.js';

const context = (awsRequestId = 'req-1'): Context =>
  ({
    awsRequestId,
    functionName: 'fn',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:fn',
    memoryLimitInMB: '256',
    getRemainingTimeInMillis: () => 10_000,
  }) as Context;

const apiEvent = (headers: Record<string, string> = {}) =>
  ({
    httpMethod: 'GET',
    path: '/x',
    headers,
    body: null,
    isBase64Encoded: false,
    requestContext: {},
  }) as unknown as APIGatewayProxyEvent;

beforeEach(() => metrics.clearMetrics());

describe('metrics', () => {
  it('are EMF in the CalypsoPayouts namespace with the single service dimension, counts and ms', () => {
    emitMetrics({ SubmissionFailures: 1, CalypsoLatency: 42 });
    emitMetrics({ SubmissionFailures: 1 });
    const emf = metrics.serializeMetrics() as unknown as {
      _aws: {
        CloudWatchMetrics: {
          Namespace: string;
          Dimensions: string[][];
          Metrics: { Name: string; Unit: string }[];
        }[];
      };
    } & Record<string, unknown>;
    const [directive] = emf._aws.CloudWatchMetrics;
    expect(directive!.Namespace).toBe(METRICS_NAMESPACE);
    expect(directive!.Dimensions).toEqual([[SERVICE_DIMENSION]]);
    expect(emf[SERVICE_DIMENSION]).toBe(process.env.POWERTOOLS_SERVICE_NAME ?? 'calypso-payouts');
    expect(directive!.Metrics).toEqual([
      { Name: 'SubmissionFailures', Unit: 'Count' },
      { Name: 'CalypsoLatency', Unit: 'Milliseconds' },
    ]);
    expect(buffered('SubmissionFailures')).toBe(2);
    publishMetrics();
    expect(metrics.hasStoredMetrics()).toBe(false);
  });

  it('an API handler publishes what its invocation emitted when it ends, error or not', async () => {
    const ok = apiHandler(() => {
      emitMetrics({ PayoutsCreated: 1 });
      expect(metrics.hasStoredMetrics()).toBe(true);
      return Promise.resolve(json(200, {}));
    });
    expect((await ok(apiEvent(), context())).statusCode).toBe(200);
    expect(metrics.hasStoredMetrics()).toBe(false);

    const failing = apiHandler(() => {
      emitMetrics({ CalypsoErrors: 1 });
      return Promise.reject(new Error('boom'));
    });
    expect((await failing(apiEvent(), context())).statusCode).toBe(500);
    expect(metrics.hasStoredMetrics()).toBe(false);
  });

  it('a background handler publishes them too', async () => {
    const handler = backgroundHandler(() => {
      emitMetrics({ StuckBatches: 1 });
      return Promise.resolve('done');
    });
    expect(await handler({}, context())).toBe('done');
    expect(metrics.hasStoredMetrics()).toBe(false);
  });
});

describe('correlation id', () => {
  it("is the caller's x-correlation-id during an API request, echoed on the answer", async () => {
    let seen: string | undefined;
    const handler = apiHandler(() => {
      seen = currentCorrelationId();
      return Promise.resolve(json(200, {}));
    });
    const res = await handler(apiEvent({ 'X-Correlation-Id': 'caller-123' }), context());
    expect(seen).toBe('caller-123');
    expect(res.headers?.['x-correlation-id']).toBe('caller-123');
    expect(currentCorrelationId()).toBeUndefined();
  });

  it("is the submit event's correlationId in a background handler, else the request id", async () => {
    const seen: (string | undefined)[] = [];
    const handler = backgroundHandler(() => {
      seen.push(currentCorrelationId());
      return Promise.resolve(undefined);
    });
    await handler({ payoutId: 'p', correlationId: 'from-api-1' }, context('req-a'));
    await handler({ payoutId: 'p' }, context('req-b'));
    await handler({ payoutId: 'p', correlationId: 'bad id with spaces' }, context('req-c'));
    expect(seen).toEqual(['from-api-1', 'req-b', 'req-c']);
  });
});

describe('Calypso calls', () => {
  const fake = (behaviour: () => Promise<unknown>): CalypsoApi =>
    ({
      createMassPayout: behaviour,
      getMassPayout: behaviour,
      listWithdrawals: behaviour,
      createPayout: behaviour,
      getPayout: behaviour,
      getAccount: behaviour,
    }) as unknown as CalypsoApi;
  const clock = () => {
    let t = 1000;
    return () => (t += 125);
  };
  const error = (Type: typeof CalypsoError, errorCode: string) =>
    new Type({ errorCode, message: errorCode, operation: 'getMassPayout', retryable: false });

  it('measure each call and return its answer', async () => {
    const api = instrumentCalypso(
      fake(() => Promise.resolve({ id: 'm1' })),
      { now: clock() },
    );
    await expect(api.getMassPayout({ id: 'm1' })).resolves.toEqual({ id: 'm1' });
    await api.getAccount();
    expect(buffered('CalypsoLatency')).toBe(250);
    expect(buffered('CalypsoErrors')).toBe(0);
  });

  it('count a failed call as a Calypso error and rethrow it; "not found" is an answer', async () => {
    const failing = instrumentCalypso(
      fake(() => Promise.reject(error(CalypsoError, 'timeout'))),
      { now: clock() },
    );
    await expect(failing.createMassPayout({} as never)).rejects.toThrow('timeout');
    await expect(failing.listWithdrawals({ dealId: '1' })).rejects.toThrow('timeout');
    expect(buffered('CalypsoErrors')).toBe(2);

    const notFound = instrumentCalypso(
      fake(() => Promise.reject(error(CalypsoNotFoundError, '009'))),
      { now: clock() },
    );
    await expect(notFound.getMassPayout({ idempotencyKey: 'k' })).rejects.toBeInstanceOf(
      CalypsoNotFoundError,
    );
    expect(buffered('CalypsoErrors')).toBe(2);
    expect(buffered('CalypsoLatency')).toBe(375);
  });
});
