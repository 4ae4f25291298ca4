/**
 * Sizes and repetitions of every figure, from the environment. `BENCH_QUICK=1` gives a smoke run
 * of a minute or so; each value can also be set on its own (e.g. `BENCH_RECONCILE_BATCHES=200`).
 */
const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';

function int(name: string, full: number, smoke: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return quick ? smoke : full;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive whole number, not ${JSON.stringify(raw)}`);
  }
  return value;
}

function ints(name: string, full: number[], smoke: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return quick ? smoke : full;
  return raw.split(',').map((part, i) => {
    const value = Number(part.trim());
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new Error(`${name}[${i}] must be a positive whole number, not ${JSON.stringify(part)}`);
    }
    return value;
  });
}

function only(): Set<string> | undefined {
  const raw = process.env.BENCH_ONLY;
  if (!raw) return undefined;
  return new Set(raw.split(',').map((s) => s.trim()));
}

export const OPTIONS = {
  quick,
  /** Figures to run, by name (create, validation, webhooks, reconciler, cold-start, e2e). */
  only: only(),
  /** Where the report goes. */
  output: process.env.BENCH_OUTPUT ?? 'BENCHMARKS.md',
  create: {
    sizes: ints('BENCH_CREATE_SIZES', [1_000, 10_000], [100, 1_000]),
    runs: int('BENCH_CREATE_RUNS', 3, 2),
  },
  validation: {
    recipients: int('BENCH_VALIDATION_RECIPIENTS', 10_000, 10_000),
    runs: int('BENCH_VALIDATION_RUNS', 5, 3),
    /** Each run repeats the work for at least this long, so one run is not a single sample. */
    minRunMs: int('BENCH_VALIDATION_MIN_RUN_MS', 300, 100),
  },
  webhooks: {
    events: int('BENCH_WEBHOOK_EVENTS', 300, 100),
    concurrency: int('BENCH_WEBHOOK_CONCURRENCY', 8, 8),
    runs: int('BENCH_WEBHOOK_RUNS', 3, 2),
  },
  reconciler: {
    batches: int('BENCH_RECONCILE_BATCHES', 1_000, 80),
    recipientsPerBatch: int('BENCH_RECONCILE_RECIPIENTS', 10, 10),
    latencyMs: int('BENCH_RECONCILE_LATENCY_MS', 50, 50),
    runs: int('BENCH_RECONCILE_RUNS', 3, 2),
    /** Batches of the one wide payout (BTC 10,000 recipients make 100 batches). */
    wideBatches: int('BENCH_RECONCILE_WIDE_BATCHES', 100, 30),
    /** Recipients of the full-batch payouts (BTC, 100 a batch; USDT, 1,000 a batch). */
    fullBtcRecipients: int('BENCH_RECONCILE_FULL_BTC', 1_000, 200),
    fullUsdtRecipients: int('BENCH_RECONCILE_FULL_USDT', 2_000, 1_000),
  },
  coldStart: {
    runs: int('BENCH_COLD_START_RUNS', 5, 3),
  },
  e2e: {
    recipients: int('BENCH_E2E_RECIPIENTS', 200, 100),
    speed: int('BENCH_E2E_SPEED', 10, 10),
    runs: int('BENCH_E2E_RUNS', 3, 1),
    /** The deployed reconciler's schedule (1 min), divided by the sandbox's speed. */
    scheduleMs: int('BENCH_E2E_SCHEDULE_MS', 60_000, 60_000),
    timeoutMs: int('BENCH_E2E_TIMEOUT_MS', 120_000, 60_000),
  },
};

export type BenchOptions = typeof OPTIONS;

export function enabled(figure: string): boolean {
  return !OPTIONS.only || OPTIONS.only.has(figure);
}
