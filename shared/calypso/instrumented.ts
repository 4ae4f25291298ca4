/**
 * Every call the service makes to Calypso, measured and logged in one place: a log line per call
 * (operation, outcome, milliseconds, correlation id), `CalypsoLatency` per call and
 * `CalypsoErrors` per failed call. A call is what the use cases ask for, the client's retries
 * included; "not found" is an answer (a lookup before creating expects it), not an error.
 */
import { currentCorrelationId } from '../correlation.js';
import { emitMetrics } from '../metrics.js';
import { logger } from '../observability.js';
import type { CalypsoApi } from '../payouts/ports.js';
import { CalypsoError, CalypsoNotFoundError } from './errors.js';

type Operation = keyof CalypsoApi;

const OPERATIONS: readonly Operation[] = [
  'createMassPayout',
  'getMassPayout',
  'listWithdrawals',
  'createPayout',
  'getPayout',
  'getAccount',
];

export interface InstrumentDeps {
  /** Milliseconds from an arbitrary origin; `performance.now` by default. */
  now?: () => number;
}

export function instrumentCalypso(api: CalypsoApi, deps: InstrumentDeps = {}): CalypsoApi {
  const now = deps.now ?? (() => performance.now());
  const measured = <Args extends unknown[], T>(
    operation: Operation,
    call: (...args: Args) => Promise<T>,
  ) => {
    return async (...args: Args): Promise<T> => {
      const started = now();
      const done = (outcome: string, extra: Record<string, unknown> = {}) => {
        const ms = Math.round(now() - started);
        const line = { operation, outcome, ms, correlationId: currentCorrelationId(), ...extra };
        if (outcome === 'error') {
          emitMetrics({ CalypsoLatency: ms, CalypsoErrors: 1 });
          logger.warn('calypso call failed', line);
        } else {
          emitMetrics({ CalypsoLatency: ms });
          logger.info('calypso call', line);
        }
      };
      try {
        const result = await call(...args);
        done('ok');
        return result;
      } catch (err) {
        if (err instanceof CalypsoNotFoundError) done('not-found');
        else
          done('error', {
            errorCode: err instanceof CalypsoError ? err.errorCode : undefined,
            httpStatus: err instanceof CalypsoError ? err.httpStatus : undefined,
            traceId: err instanceof CalypsoError ? err.traceId : undefined,
            error: err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : String(err),
          });
        throw err;
      }
    };
  };
  const wrapped = {} as Record<Operation, unknown>;
  for (const operation of OPERATIONS) {
    const call = api[operation] as (...args: unknown[]) => Promise<unknown>;
    wrapped[operation] = measured(operation, call.bind(api));
  }
  return wrapped as CalypsoApi;
}
