/**
 * The test stack for the fault suite: the whole system as in `startTestStack`, on a fixed manual
 * clock, with three changes that make failures repeatable:
 * - the Calypso client is the project's own, built with a retry backoff that does not wait and a
 *   fixed jitter (the retries still happen, in the same order, only instantly), and it can be
 *   wrapped to misbehave;
 * - submission handed off by the API runs in-process like the submit function, and a failed
 *   submission is recorded (as a failed async invocation would be) instead of escaping;
 * - every accepted request is kept in a ledger, so the invariant check can compare what was
 *   paid with what was asked for.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { expect } from 'vitest';
import { CalypsoClient } from '../../../shared/calypso/client.js';
import type { BatchRecord } from '../../../shared/domain/payout.js';
import type { CalypsoApi } from '../../../shared/payouts/ports.js';
import type { PayoutRepository } from '../../../shared/store/payout-repository.js';
import { startTestStack, type TestStack } from '../../support/stack.js';
import { btcPayout } from './payouts.js';
import { checkInvariants, formatViolations, isFinalOrStuck, type Ledger } from './invariants.js';

/** 2030-01-01T00:00:00Z: every date the system writes is the same from run to run. */
export const START = Date.UTC(2030, 0, 1);

/** One reconciler period in the tests (POLL_INTERVAL_MS is 60 s). */
export const TICK_MS = 61_000;

export interface FaultStackOptions {
  env?: Record<string, string>;
  autoSubmit?: boolean;
  /** Subscribe our webhook receiver at Calypso (default true); off, only the reconciler tracks. */
  webhooks?: boolean;
}

export interface FaultStack extends TestStack {
  /** A plain client on the test DynamoDB, for reading the table behind the system's back. */
  db: DynamoDBClient;
  endpoint: string;
  ledger: Ledger;
  /** The repository the system was started with (undo `useRepository`). */
  repository: PayoutRepository;
  /** Errors that ended a handed-off submission (a failed async invocation). */
  submissionFailures: unknown[];
  /** Waits the Calypso client asked for between attempts (it does not actually wait). */
  backoffs: number[];
  /** Makes the whole running system (API, submission, reconciler, webhooks) use this repository. */
  useRepository(repository?: PayoutRepository): void;
  /** Puts a wrapper around the Calypso client the system uses; none restores the plain client. */
  wrapCalypso(wrap?: (client: CalypsoApi) => CalypsoApi): void;
  /** POST /payouts; an accepted answer (200/202) is recorded in the ledger. */
  post(
    body: unknown,
    options?: { key?: string; caller?: string },
  ): Promise<{ status: number; headers: Headers; body: any }>;
  /** POSTs a BTC payout (`btcPayout`), expects it accepted (202) and answers its id. */
  accepted(tag: string, recipients?: number): Promise<string>;
  /** The payout's batches as stored, in index order. */
  batchesOf(payoutId: string): Promise<BatchRecord[]>;
  /**
   * Advances the clock a period at a time and ticks the reconciler until every payout is final
   * (or, by default, final or flagged stuck); returns the number of ticks it took.
   */
  drive(options?: { maxTicks?: number; stepMs?: number; untilFinal?: boolean }): Promise<number>;
  /** Drives the system to rest, then asserts every invariant. */
  expectInvariants(options?: { maxTicks?: number }): Promise<void>;
}

export async function startFaultStack(options: FaultStackOptions = {}): Promise<FaultStack> {
  const backoffs: number[] = [];
  let wrapper: (c: CalypsoApi) => CalypsoApi = (c) => c;
  const submissionFailures: unknown[] = [];
  const base = await startTestStack({
    sandbox: { clock: { mode: 'manual', startAt: START } },
    env: {
      SUBMISSION_LEASE_MS: '120000',
      // Far above any answer's time on loopback; scenarios about timeouts set it lower.
      CALYPSO_TIMEOUT_MS: '5000',
      ...options.env,
    },
    autoSubmit: options.autoSubmit !== false,
    subscribeWebhooks: options.webhooks !== false,
    calypso: (config, clock) => {
      if (config.credentials.source !== 'environment') throw new Error('no sandbox account');
      const client = new CalypsoClient(
        {
          baseUrl: config.calypso.baseUrl,
          pathPrefix: config.calypso.pathPrefix,
          ...config.credentials.value,
          timeoutMs: config.calypso.timeoutMs,
          firstPage: config.calypso.firstPage,
        },
        {
          now: () => clock.now().getTime(),
          sleep: (ms) => {
            backoffs.push(ms);
            return Promise.resolve();
          },
          random: () => 0.5,
        },
      );
      return () => Promise.resolve(wrapper(client));
    },
    // Recorded, as a failed async invocation would be, instead of escaping.
    onSubmitError: (err) => submissionFailures.push(err),
  });
  const endpoint = base.endpoint;
  const db = new DynamoDBClient({ endpoint });
  const ledger: Ledger = new Map();
  const repository = base.system().repository;

  const check = () =>
    checkInvariants({
      db,
      tableName: base.tableName,
      sandbox: base.sandbox,
      ledger,
      policy: base.system().policy,
    });

  const stack: FaultStack = {
    ...base,
    db,
    endpoint,
    ledger,
    repository,
    submissionFailures,
    backoffs,
    useRepository: (replacement) => base.local.replace({ repository: replacement ?? repository }),
    wrapCalypso: (wrap) => {
      wrapper = wrap ?? ((c) => c);
    },
    post: async (body, { key = `key-${randomUUID()}`, caller } = {}) => {
      const res = await base.request('POST', '/payouts', {
        body,
        headers: { 'idempotency-key': key, ...(caller ? { 'x-caller-id': caller } : {}) },
      });
      if (res.status === 200 || res.status === 202) ledger.set(res.body.id as string, body);
      return res;
    },
    accepted: async (tag, recipients = 2) => {
      const res = await stack.post(btcPayout(tag, recipients));
      expect(res.status).toBe(202);
      return res.body.id as string;
    },
    batchesOf: async (payoutId) => {
      const stored = await repository.getPayoutWithBatches(payoutId);
      return stored!.batches.sort((a, b) => a.index - b.index);
    },
    drive: async ({ maxTicks = 12, stepMs = TICK_MS, untilFinal = false } = {}) => {
      await base.settle();
      for (let tick = 0; tick < maxTicks; tick++) {
        const { payouts } = await check();
        if (payouts.every((p) => isFinalOrStuck({ ...p, stuck: p.stuck && !untilFinal })))
          return tick;
        await base.advance(stepMs);
        await base.reconcile();
        await base.settle();
      }
      return maxTicks;
    },
    expectInvariants: async ({ maxTicks } = {}) => {
      await stack.drive(maxTicks === undefined ? {} : { maxTicks });
      const report = await check();
      expect(formatViolations(report.violations)).toEqual([]);
      expect(report.payouts.length).toBeGreaterThan(0);
    },
    close: async () => {
      await base.close();
      db.destroy();
    },
  };
  return stack;
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order of the results. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
