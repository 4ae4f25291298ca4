/**
 * reconciler: one tick (`reconcileTick`, as the scheduled function runs it) over many open
 * batches, with the Calypso sandbox answering every call in a fixed latency, at the configured
 * concurrency; compared with the ideal `calls × latency / concurrency`. Then, on full batches,
 * the Calypso calls a look needs and what a first look (every withdrawal changes) costs.
 */
import { performance } from 'node:perf_hooks';
import {
  startCalypsoSandbox,
  type CalypsoSandbox,
  type RecordedRequest,
} from '../../infra/local/calypso-sandbox/index.js';
import { CalypsoClient } from '../../shared/calypso/client.js';
import { CurrencyRegistry } from '../../shared/domain/currencies.js';
import { Decimal } from '../../shared/domain/money.js';
import { createPayout } from '../../shared/payouts/create-payout.js';
import { reconcileTick, type TickSummary } from '../../shared/payouts/track.js';
import type { PayoutView } from '../../shared/payouts/views.js';
import { createDeps, trackDeps, type System } from '../../shared/system.js';
import { createTable, describeCounts, totalRequests, type RequestCounts } from '../dynamo.js';
import type { BenchOptions } from '../options.js';
import { btcP2pkh, evmLowercase, payoutBody, recipients } from '../recipients.js';
import type { Figure } from '../report.js';
import { configure, type BenchContext } from '../stack.js';
import { forEachLimit } from '../../shared/concurrency.js';
import { count, median, ms, pairedRatio, ratio, seconds } from '../stats.js';

/** The reconcile function's timeout (infra/functions.ts): a tick stops taking work 10 s before. */
const FUNCTION_TIMEOUT_MS = 60_000;
const POLL_INTERVAL_MS = 60_000;
const WEEK_MS = 7 * 24 * 60 * 60_000;
/** Batches of one payout in the main figure (payouts are sharded in the open-batch index). */
const BATCHES_PER_PAYOUT = 5;
/** The Calypso client's page size when listing withdrawals (its default). */
const LISTING_PAGE = 100;

interface TickMeasure {
  ms: number;
  summary: TickSummary;
  calypsoCalls: number;
  byOperation: Record<string, number>;
  dynamo: RequestCounts;
  itemsRead: number;
  /** Most requests of each DynamoDB command in flight at once during the tick. */
  peaks: RequestCounts;
  calls: RecordedRequest[];
}

async function measureTick(
  ctx: BenchContext,
  sandbox: CalypsoSandbox,
  rt: System,
  latencyMs: number,
): Promise<TickMeasure> {
  const requestsBefore = sandbox.inspect.requests().length;
  const dynamoBefore = ctx.counter.snapshot();
  const readBefore = ctx.counter.itemsRead;
  ctx.counter.resetPeaks();
  if (latencyMs > 0) {
    sandbox.faults.delayNext('*', { ms: latencyMs, count: 1_000_000_000, phase: 'beforeHandling' });
  }
  const deadline = performance.now() + FUNCTION_TIMEOUT_MS;
  const started = performance.now();
  const summary = await reconcileTick(trackDeps(rt), {
    remainingMs: () => deadline - performance.now(),
    concurrency: rt.config.reconcileConcurrency,
  });
  const took = performance.now() - started;
  sandbox.faults.clear();
  const calls = sandbox.inspect.requests().slice(requestsBefore);
  const byOperation: Record<string, number> = {};
  for (const call of calls) {
    const op = call.operation ?? 'unknown';
    byOperation[op] = (byOperation[op] ?? 0) + 1;
  }
  return {
    ms: took,
    summary,
    calypsoCalls: calls.length,
    byOperation,
    dynamo: ctx.counter.since(dynamoBefore),
    itemsRead: ctx.counter.itemsRead - readBefore,
    peaks: { ...ctx.counter.peaks },
    calls,
  };
}

function calypsoConfig(sandbox: CalypsoSandbox) {
  const account = sandbox.accounts[0]!;
  return {
    url: sandbox.url,
    pathPrefix: sandbox.pathPrefix,
    apiKey: account.apiKey,
    secretKey: account.secretKey,
    account: account.account,
  };
}

const perBatch = (m: TickMeasure) => Math.max(1, m.summary.refreshed);

export interface FullBatchResult {
  label: string;
  recipients: number;
  batches: number;
  firstLookMs: number;
  /** Write requests per batch in the first look: its withdrawals' updates and the batch's own. */
  firstLookWritesPerBatch: number;
  /** The most requests of withdrawal updates (25 each) in flight at once during the first look. */
  firstLookUpdatePeak: number;
  quietCallsPerBatch: number;
  quietMs: number;
}

export interface ReconcilerResult {
  batches: number;
  looked: number;
  concurrency: number;
  latencyMs: number;
  callsPerBatch: number;
  tickMs: number;
  idealMs: number;
  ratioToIdeal: number;
  noLatencyMs: number;
  /** DynamoDB items read per batch looked at (payouts of BATCHES_PER_PAYOUT batches). */
  itemsReadPerBatch: number;
  /** The same quiet look over one payout of many batches. */
  wide: { batches: number; ms: number; itemsReadPerBatch: number; dynamoPerBatch: number };
  dynamoPerBatch: number;
  stoppedEarly: boolean;
  full: FullBatchResult[];
}

export async function runReconciler(
  ctx: BenchContext,
  options: BenchOptions['reconciler'],
): Promise<{ figure: Figure; result: ReconcilerResult }> {
  // Full batches first: their ticks also warm the tracking path up before the main figure.
  const full = await fullBatches(ctx, options);
  const per = options.recipientsPerBatch;
  const overrides = { BTC: { massPayoutLimit: per } };
  // Calypso holds the payouts before creating their withdrawals, so every look is quiet.
  const sandbox = await startCalypsoSandbox({
    clock: { mode: 'manual' },
    seed: 11,
    currencies: CurrencyRegistry.withOverrides(overrides),
    timings: { withdrawalsCreatedAfterMs: WEEK_MS },
  });
  let main: Omit<ReconcilerResult, 'full'> & { steady: TickMeasure; runs: number };
  try {
    const clock = { now: () => new Date(sandbox.now()) };
    const tableName = await createTable(ctx.db, 'reconcile');
    const rt = await configure(ctx, {
      tableName,
      calypso: calypsoConfig(sandbox),
      clock,
      env: {
        POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
        CURRENCY_OVERRIDES: JSON.stringify(overrides),
      },
    });
    const concurrency = rt.config.reconcileConcurrency;
    const payouts = Math.ceil(options.batches / BATCHES_PER_PAYOUT);
    ctx.progress(
      `reconciler: ${count(payouts * BATCHES_PER_PAYOUT)} open batches (${count(payouts)} BTC payouts of ${BATCHES_PER_PAYOUT} batches of ${per}), Calypso at ${options.latencyMs} ms, concurrency ${concurrency}`,
    );
    const batches = payouts * BATCHES_PER_PAYOUT;
    const created: PayoutView[] = [];
    await forEachLimit(
      Array.from({ length: payouts }, (_, i) => i),
      4,
      async (i) => {
        const n = BATCHES_PER_PAYOUT * per;
        const out = await createPayout(createDeps(rt), {
          caller: { principal: 'bench' },
          idempotencyKey: `bench-reconcile-${i}`,
          body: payoutBody(
            'BTC',
            recipients(n, (j) => btcP2pkh(i * n + j), 8),
          ),
        });
        if (!('payout' in out)) throw new Error('expected a payout');
        created.push(out.payout);
      },
    );
    await submitDirectly(rt, sandbox, created);
    ctx.progress(`  setup: ${count(batches)} batches stored and submitted`);
    await sandbox.advance(POLL_INTERVAL_MS);

    const withLatency: TickMeasure[] = [];
    for (let run = 0; run < options.runs; run++) {
      if (run > 0) await sandbox.advance(POLL_INTERVAL_MS);
      const m = await measureTick(ctx, sandbox, rt, options.latencyMs);
      withLatency.push(m);
      ctx.progress(
        `  run ${run + 1}/${options.runs}: ${seconds(m.ms)} (${m.summary.refreshed} of ${m.summary.due} due batches, ${count(m.calypsoCalls)} Calypso calls, ideal ${seconds((m.calypsoCalls * options.latencyMs) / concurrency)})`,
      );
    }
    await sandbox.advance(POLL_INTERVAL_MS);
    const without = await measureTick(ctx, sandbox, rt, 0);
    ctx.progress(`  the same tick without the latency: ${seconds(without.ms)}`);

    // The same quiet look when the batches belong to one wide payout.
    const wideTable = await createTable(ctx.db, 'reconcile-wide');
    const wideRt = await configure(ctx, {
      tableName: wideTable,
      calypso: calypsoConfig(sandbox),
      clock,
      env: {
        POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
        CURRENCY_OVERRIDES: JSON.stringify(overrides),
      },
    });
    const wideOut = await createPayout(createDeps(wideRt), {
      caller: { principal: 'bench' },
      idempotencyKey: 'bench-reconcile-wide',
      body: payoutBody(
        'BTC',
        recipients(options.wideBatches * per, (j) => btcP2pkh(5_000_000 + j), 8),
      ),
    });
    if (!('payout' in wideOut)) throw new Error('expected a payout');
    await submitDirectly(wideRt, sandbox, [wideOut.payout]);
    await sandbox.advance(POLL_INTERVAL_MS);
    const wide = await measureTick(ctx, sandbox, wideRt, 0);
    ctx.progress(
      `  one payout of ${wideOut.payout.batches.length} batches, no latency: ${seconds(wide.ms)}`,
    );

    const ideal = (m: TickMeasure) => (m.calypsoCalls * options.latencyMs) / concurrency;
    const steady = withLatency.at(-1)!;
    main = {
      batches,
      looked: median(withLatency.map((m) => m.summary.refreshed)),
      concurrency,
      latencyMs: options.latencyMs,
      callsPerBatch: median(withLatency.map((m) => m.calypsoCalls / perBatch(m))),
      tickMs: median(withLatency.map((m) => m.ms)),
      idealMs: median(withLatency.map(ideal)),
      ratioToIdeal: pairedRatio(
        withLatency.map((m) => m.ms),
        withLatency.map(ideal),
      ),
      noLatencyMs: without.ms,
      itemsReadPerBatch: without.itemsRead / perBatch(without),
      wide: {
        batches: wide.summary.refreshed,
        ms: wide.ms,
        itemsReadPerBatch: wide.itemsRead / perBatch(wide),
        dynamoPerBatch: totalRequests(wide.dynamo) / perBatch(wide),
      },
      dynamoPerBatch: totalRequests(steady.dynamo) / perBatch(steady),
      stoppedEarly: withLatency.some((m) => m.summary.stoppedEarly),
      steady,
      runs: options.runs,
    };
  } finally {
    await sandbox.close();
  }

  const { steady, runs, ...rest } = main;
  const result: ReconcilerResult = { ...rest, full };
  const figure: Figure = {
    id: 'reconciler',
    title: 'Reconciler: one tick over open batches',
    method: [
      `${count(result.batches)} open batches: ${count(result.batches / BATCHES_PER_PAYOUT)} committed BTC payouts of ${BATCHES_PER_PAYOUT} batches of ${per} recipients (\`CURRENCY_OVERRIDES\` sets the batch size; payouts spread over the open-batch index's shards), created at the Calypso sandbox and recorded as submission records them (setup, not measured). The sandbox (manual clock, shared with our code) holds them before creating their withdrawals, so every look finds nothing new: the common case for a tick. A tick is \`reconcileTick\` as the scheduled function calls it: the configured concurrency (\`RECONCILE_CONCURRENCY\` = ${result.concurrency}), the function's ${FUNCTION_TIMEOUT_MS / 1000} s budget, the default limit of due batches per shard. The sandbox holds every Calypso call ${options.latencyMs} ms before handling it. Between ticks the clock moves one poll interval, so every batch is due again. **Ideal**: the Calypso calls the tick made × ${options.latencyMs} ms / ${result.concurrency}. ${runs} runs, then one run of the same tick without the added latency (our own cost).`,
    ],
    tables: [
      {
        headers: [
          'tick',
          'batches looked at',
          'Calypso calls per batch',
          'time (median)',
          'ideal',
          'ratio to ideal',
        ],
        rows: [
          [
            `quiet look, Calypso at ${options.latencyMs} ms (${runs} runs)`,
            count(result.looked),
            result.callsPerBatch.toFixed(2),
            seconds(result.tickMs),
            seconds(result.idealMs),
            ratio(result.ratioToIdeal),
          ],
          [
            'same tick, no added latency (1 run)',
            count(result.looked),
            result.callsPerBatch.toFixed(2),
            seconds(result.noLatencyMs),
            '',
            '',
          ],
        ],
      },
    ],
    notes: [
      `Calypso calls in a tick: ${Object.entries(steady.byOperation)
        .map(([op, k]) => `${op} ${count(k)}`)
        .join(
          ', ',
        )}. DynamoDB requests per batch: ${count(result.dynamoPerBatch, 1)} (${describeCounts(steady.dynamo, perBatch(steady))}). Without the added latency a tick costs ${ms(result.noLatencyMs / Math.max(1, result.looked))} of our own work per batch at concurrency ${result.concurrency} (DynamoDB Local and the sandbox share the machine's 2 cores).`,
      `**Batches of one wide payout.** A quiet look reads ${count(result.itemsReadPerBatch, 1)} DynamoDB items per batch when payouts have ${BATCHES_PER_PAYOUT} batches, and ${count(result.wide.itemsReadPerBatch, 1)} per batch over one payout of ${count(result.wide.batches)} batches (${seconds(result.wide.ms)} for that tick without added latency: ${ms(result.wide.ms / Math.max(1, result.wide.batches))} per batch against ${ms(result.noLatencyMs / Math.max(1, result.looked))}).${result.wide.itemsReadPerBatch > 2 * result.itemsReadPerBatch ? " The reads per batch grow with the payout's batch count, so a tick over a wide payout reads in proportion to the square of its batches." : ''}`,
      result.stoppedEarly
        ? '**A tick stopped early** to finish within the function timeout: not every due batch was looked at.'
        : 'Every tick finished within the function budget (a tick stops taking work 10 s before the timeout).',
      `**Full batches.** ${full.map((f) => `${f.label}: ${count(f.batches)} batch(es) of ${count(f.recipients)}`).join('; ')}, in a sandbox that creates the withdrawals 1 s after the payout; one run each, no added latency. A quiet look reads the withdrawals from Calypso ${LISTING_PAGE} a page (one getMassPayout besides). The **first look** finds every withdrawal created (not created → DRAFT) and records each, only over the state it read, 25 such updates to a request (PartiQL BatchExecuteStatement); the batches of one tick are looked at in parallel, up to the concurrency.`,
    ],
  };
  figure.tables.push({
    headers: [
      'full batches',
      'recipients a batch',
      'quiet look: Calypso calls per batch',
      'quiet look (tick)',
      'first look (tick)',
      'first look: write requests per batch',
      'first look: withdrawal update requests in flight at most',
    ],
    rows: full.map((f) => [
      f.label,
      count(f.recipients),
      f.quietCallsPerBatch.toFixed(2),
      seconds(f.quietMs),
      seconds(f.firstLookMs),
      count(f.firstLookWritesPerBatch, 0),
      count(f.firstLookUpdatePeak),
    ]),
  });
  return { figure, result };
}

/**
 * Setup, not measured: creates every batch at the sandbox and records it as submission does
 * (SUBMITTED, with Calypso's id and state, next look after one poll interval; the payout
 * SUBMITTED). Submitting a thousand batches through ticks would take minutes on DynamoDB Local,
 * and the submission path is not what this figure measures.
 */
async function submitDirectly(rt: System, sandbox: CalypsoSandbox, payouts: PayoutView[]) {
  const account = sandbox.accounts[0]!;
  const client = new CalypsoClient(
    { baseUrl: sandbox.url, pathPrefix: sandbox.pathPrefix, ...account },
    { now: () => sandbox.now() },
  );
  const now = new Date(sandbox.now());
  const at = now.toISOString();
  const nextLookAt = new Date(now.getTime() + POLL_INTERVAL_MS).toISOString();
  await forEachLimit(payouts, 4, async (payout) => {
    for (const batch of payout.batches) {
      const withdrawals = await rt.repository.listBatchWithdrawals(payout.id, batch.index);
      const mass = await client.createMassPayout({
        currency: payout.currency,
        name: payout.name,
        idempotencyKey: batch.idempotencyKey,
        massAddresses: withdrawals.map((w) => ({
          depositAddress: w.address,
          amount: Decimal.parse(w.amount),
          ...(w.externalId !== undefined ? { externalId: w.externalId } : {}),
        })),
      });
      await rt.repository.updateBatch(
        payout.id,
        batch.index,
        {
          set: {
            status: 'SUBMITTED',
            calypsoId: mass.id,
            calypsoState: mass.state,
            nextLookAt,
            progressAt: at,
            updatedAt: at,
          },
        },
        { status: ['PENDING'] },
      );
    }
    await rt.repository.setPayoutState(payout.id, 'ACCEPTED', 'SUBMITTED', now);
  });
}

/**
 * Full batches at their currency's limit (BTC 100 a batch, USDT 1,000 a batch), each currency in
 * a table of its own so that its ticks touch only its batches.
 */
async function fullBatches(
  ctx: BenchContext,
  options: BenchOptions['reconciler'],
): Promise<FullBatchResult[]> {
  const sandbox = await startCalypsoSandbox({
    clock: { mode: 'manual' },
    seed: 12,
    timings: { withdrawalsCreatedAfterMs: 1_000, inProgressAfterMs: WEEK_MS },
  });
  try {
    const clock = { now: () => new Date(sandbox.now()) };
    const cases = [
      {
        label: 'BTC',
        currency: 'BTC',
        n: options.fullBtcRecipients,
        address: (i: number) => btcP2pkh(900_000 + i),
        decimals: 8,
      },
      {
        label: 'USDT (Ethereum)',
        currency: 'USDT',
        n: options.fullUsdtRecipients,
        address: (i: number) => evmLowercase(`full-${i}`),
        decimals: 6,
      },
    ];
    ctx.progress(
      `  full batches: ${cases.map((c) => `${c.label} ${count(c.n)} recipients`).join(', ')}`,
    );
    const setups: { label: string; rt: System; batches: number; size: number }[] = [];
    for (const c of cases) {
      const tableName = await createTable(ctx.db, 'reconcile-full');
      const rt = await configure(ctx, {
        tableName,
        calypso: calypsoConfig(sandbox),
        clock,
        env: { POLL_INTERVAL_MS: String(POLL_INTERVAL_MS) },
      });
      const created = await createPayout(createDeps(rt), {
        caller: { principal: 'bench' },
        idempotencyKey: `bench-reconcile-full-${c.currency}`,
        body: payoutBody(c.currency, recipients(c.n, c.address, c.decimals)),
      });
      if (!('payout' in created)) throw new Error('expected a payout');
      const batches = created.payout.batches;
      setups.push({
        label: c.label,
        rt,
        batches: batches.length,
        size: batches[0]!.recipientCount,
      });
      await measureTick(ctx, sandbox, rt, 0); // submits
    }
    await sandbox.advance(31_000);
    const first = new Map<string, TickMeasure>();
    for (const s of setups) {
      const m = await measureTick(ctx, sandbox, s.rt, 0);
      first.set(s.label, m);
      ctx.progress(
        `  first look, ${s.label}: ${seconds(m.ms)} for ${m.summary.refreshed} batch(es)`,
      );
    }
    await sandbox.advance(POLL_INTERVAL_MS);
    const results: FullBatchResult[] = [];
    for (const s of setups) {
      const quiet = await measureTick(ctx, sandbox, s.rt, 0);
      const f = first.get(s.label)!;
      results.push({
        label: s.label,
        recipients: s.size,
        batches: s.batches,
        firstLookMs: f.ms,
        firstLookWritesPerBatch:
          ((f.dynamo.UpdateItemCommand ?? 0) + (f.dynamo.BatchExecuteStatementCommand ?? 0)) /
          perBatch(f),
        firstLookUpdatePeak: f.peaks.BatchExecuteStatementCommand ?? 0,
        quietCallsPerBatch: quiet.calypsoCalls / perBatch(quiet),
        quietMs: quiet.ms,
      });
    }
    return results;
  } finally {
    await sandbox.close();
  }
}
