/**
 * `npm run bench`: every figure against the local stack's real parts, written to BENCHMARKS.md.
 * Starts its own DynamoDB Local and local API (and sandboxes per figure), all on loopback.
 */
import './env.js';
import { performance } from 'node:perf_hooks';
import { startLocalApi } from '../infra/local/api-server.js';
import { startDynamoDbLocal } from '../infra/local/dynamodb-local.js';
import type { System } from '../shared/system.js';
import { countingClient, RequestCounter, warmUp } from './dynamo.js';
import { runColdStart } from './figures/cold-start.js';
import { runCreate } from './figures/create.js';
import { runEndToEnd } from './figures/end-to-end.js';
import { runReconciler } from './figures/reconciler.js';
import { runValidation } from './figures/validation.js';
import { runWebhooks } from './figures/webhooks.js';
import { describeMachine } from './machine.js';
import { enabled, OPTIONS } from './options.js';
import { readResults, type Results } from './reading.js';
import { renderReport, writeReport, type Figure } from './report.js';
import type { BenchContext } from './stack.js';
import { seconds } from './stats.js';

const started = performance.now();
const startedAt = new Date();
const elapsed = () => seconds(performance.now() - started).padStart(8);
const progress = (line: string) => console.log(`[${elapsed()}] ${line}`);

async function main() {
  const machine = describeMachine();
  progress(
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.memory}; Node ${machine.node}${OPTIONS.quick ? ' (quick run)' : ''}`,
  );
  progress('starting DynamoDB Local');
  const dynamo = await startDynamoDbLocal();
  const counter = new RequestCounter();
  const db = countingClient(dynamo.endpoint, counter);
  progress('warming DynamoDB Local up');
  await warmUp(db);
  let served: System | undefined;
  const system = () => {
    if (!served) throw new Error('no figure has configured a system');
    return served;
  };
  const api = await startLocalApi({ system });
  const ctx: BenchContext = {
    dynamoEndpoint: dynamo.endpoint,
    dynamoPid: dynamo.pid,
    db,
    counter,
    apiUrl: api.url,
    system,
    serve: (next) => {
      served = next;
    },
    progress,
  };

  const figures: Figure[] = [];
  const results: Results = {};
  const failures: { id: string; error: string }[] = [];
  const attempt = async (id: string, work: () => Promise<void>) => {
    if (!enabled(id)) return;
    const figureStarted = performance.now();
    try {
      await work();
      progress(`${id}: done in ${seconds(performance.now() - figureStarted)}`);
    } catch (err) {
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      failures.push({ id, error });
      progress(`${id}: FAILED: ${error}`);
    } finally {
      counter.listener = undefined;
      ctx.serve(undefined);
    }
  };

  try {
    await attempt('validation', async () => {
      const out = await runValidation(ctx, OPTIONS.validation);
      figures.push(out.figure);
      results.validation = out.results;
    });
    await attempt('create', async () => {
      const out = await runCreate(ctx, OPTIONS.create);
      figures.push(out.figure);
      results.create = out.results;
    });
    await attempt('webhooks', async () => {
      const out = await runWebhooks(ctx, OPTIONS.webhooks);
      figures.push(out.figure);
      results.webhooks = out.result;
    });
    await attempt('reconciler', async () => {
      const out = await runReconciler(ctx, OPTIONS.reconciler);
      figures.push(out.figure);
      results.reconciler = out.result;
    });
    await attempt('cold-start', async () => {
      const out = await runColdStart(ctx, OPTIONS.coldStart);
      figures.push(out.figure);
      results.coldStart = out.results;
    });
    await attempt('e2e', async () => {
      const out = await runEndToEnd(ctx, OPTIONS.e2e);
      figures.push(out.figure);
      results.e2e = out.result;
    });
  } finally {
    await api.close();
    db.destroy();
    await dynamo.stop();
  }

  const markdown = renderReport({
    machine,
    startedAt,
    durationMs: performance.now() - started,
    quick: OPTIONS.quick,
    command: OPTIONS.quick ? 'BENCH_QUICK=1 npm run bench' : 'npm run bench',
    figures,
    reading: readResults(results),
    failures,
  });
  await writeReport(OPTIONS.output, markdown);
  progress(`wrote ${OPTIONS.output}`);
  if (failures.length) {
    progress(`${failures.length} figure(s) failed: ${failures.map((f) => f.id).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
