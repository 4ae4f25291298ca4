/**
 * end to end: from `POST /payouts` to the payout final in `GET /payouts/{id}`, with the Calypso
 * sandbox on its real-time clock at a fixed speed factor sending signed webhooks to the local
 * API, submission in-process, and the reconciler on a timer at the deployed schedule divided by
 * the same speed; against the sandbox's own lifecycle duration at that speed.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import {
  DEFAULT_TIMINGS,
  startCalypsoSandbox,
  type CalypsoSandbox,
} from '../../infra/local/calypso-sandbox/index.js';
import { CalypsoClient } from '../../shared/calypso/client.js';
import { TERMINAL_PAYOUT_STATES, type PayoutState } from '../../shared/domain/payout.js';
import { submitPayout } from '../../shared/payouts/submit.js';
import { APPLY_CONCURRENCY, inProcessApply } from '../../infra/local/apply-in-process.js';
import { inProcessSubmit } from '../../infra/local/submit-in-process.js';
import { reconcileTick } from '../../shared/payouts/track.js';
import { applyWebhookEvent } from '../../shared/payouts/webhooks.js';
import { trackDeps } from '../../shared/system.js';
import { createTable, totalRequests } from '../dynamo.js';
import { machineCpu, processCpuMs } from '../machine.js';
import type { BenchOptions } from '../options.js';
import { btcP2pkh, payoutBody, recipients } from '../recipients.js';
import type { Figure } from '../report.js';
import { configure, request, type BenchContext } from '../stack.js';
import { count, median, pairedRatio, ratio, seconds } from '../stats.js';

const POLL_MS = 100;
const WATCH_MS = 50;
const TERMINAL_WITHDRAWAL = new Set(['COMPLETED', 'FAILED', 'REPLACED', 'CANCELED']);

/** Where the time went in a run (medians across runs in the result). */
interface Load {
  /** From the request to the payout final: CPU of this process and of DynamoDB Local, in cores. */
  benchCores: number;
  dynamoCores: number | undefined;
  /** The share of that time this process's event loop was busy, and the machine's cores. */
  loopBusy: number;
  machineBusy: number | undefined;
  /** The same, from every withdrawal final at Calypso to the payout final: the time that counts. */
  tailLoopBusy: number;
  tailMachineBusy: number | undefined;
  /** DynamoDB requests from the request to the payout final. */
  requests: number;
}

interface Milestones extends Load {
  accepted: number;
  allAtCalypso: number;
  calypsoFinal: number;
  webhooksDelivered: number;
  final: number;
  webhooks: number;
  webhookFailures: number;
  ticks: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function oneRun(
  ctx: BenchContext,
  options: BenchOptions['e2e'],
  run: number,
): Promise<Milestones> {
  const sandbox: CalypsoSandbox = await startCalypsoSandbox({
    clock: { mode: 'realtime', speed: options.speed },
    seed: 100 + run,
  });
  const account = sandbox.accounts[0]!;
  const intervalMs = Math.round(options.scheduleMs / options.speed);
  let timer: NodeJS.Timeout | undefined;
  let watcher: NodeJS.Timeout | undefined;
  let ticking: Promise<unknown> | undefined;
  // Submission and the stored webhooks' applies run in-process after the answers, as locally.
  const submitErrors: unknown[] = [];
  const submissions = inProcessSubmit(
    (payoutId) => submitPayout(trackDeps(ctx.system()), payoutId),
    (err) => submitErrors.push(err),
  );
  const applyErrors: unknown[] = [];
  const applies = inProcessApply(
    ({ eventId, providerKey }) => applyWebhookEvent(trackDeps(ctx.system()), eventId, providerKey),
    (err) => applyErrors.push(err),
  );
  try {
    const subscription = await new CalypsoClient({
      baseUrl: sandbox.url,
      pathPrefix: sandbox.pathPrefix,
      ...account,
    }).createWebhookSubscription({
      requestId: randomUUID(),
      url: `${ctx.apiUrl}/webhooks/calypso`,
    });
    const tableName = await createTable(ctx.db, 'e2e');
    await configure(ctx, {
      tableName,
      calypso: {
        url: sandbox.url,
        pathPrefix: sandbox.pathPrefix,
        apiKey: account.apiKey,
        secretKey: account.secretKey,
        account: account.account,
      },
      webhookKeys: { publicKey: subscription.publicKey!, secretKey: subscription.secretKey! },
      trigger: submissions.trigger,
      applyWebhook: applies.trigger,
      env: { POLL_INTERVAL_MS: String(intervalMs) },
    });
    const body = JSON.stringify(
      payoutBody(
        'BTC',
        recipients(options.recipients, (i) => btcP2pkh(run * 1_000_000 + i), 8),
      ),
    );

    let ticks = 0;
    const requestsBefore = ctx.counter.snapshot();
    const cpuBefore = process.cpuUsage();
    const loopBefore = performance.eventLoopUtilization();
    const machineBefore = machineCpu();
    let tailLoop: EventLoopUtilization | undefined;
    let tailMachine: ReturnType<typeof machineCpu>;
    const dynamoCpuBefore = processCpuMs(ctx.dynamoPid);
    const t0 = performance.now();
    const tick = () => {
      if (ticking) return; // never two ticks at once
      ticks++;
      ticking = reconcileTick(trackDeps(ctx.system()), {
        remainingMs: () => intervalMs * 10,
        reserveMs: 0,
      })
        .catch((err: unknown) => console.error('reconcile tick failed:', err))
        .finally(() => (ticking = undefined));
    };
    // A deployed schedule has an arbitrary phase: each run starts the timer at another one.
    const phaseMs = Math.round(((run % options.runs) / options.runs) * intervalMs);
    timer = setTimeout(() => {
      tick();
      timer = setInterval(tick, intervalMs);
    }, phaseMs || intervalMs);
    const res = await request(ctx, 'POST', '/payouts', {
      body,
      headers: { 'idempotency-key': `bench-e2e-${run}-${Date.now()}`, 'x-caller-id': 'bench' },
    });
    if (res.status !== 202) throw new Error(`POST /payouts answered ${res.status}`);
    const m: Partial<Milestones> = { accepted: performance.now() - t0 };
    const payout = res.body as { id: string; batches: unknown[] };
    const batches = payout.batches.length;

    // Calypso's side, watched in memory on its own timer so a slow API read never delays it.
    const watchCalypso = () => {
      const now = performance.now() - t0;
      const atCalypso = sandbox.inspect.massPayouts();
      if (m.allAtCalypso === undefined && atCalypso.length >= batches) m.allAtCalypso = now;
      if (
        m.calypsoFinal === undefined &&
        atCalypso.length >= batches &&
        atCalypso.every(
          (p) =>
            p.withdrawals.length > 0 &&
            p.withdrawals.every((w) => TERMINAL_WITHDRAWAL.has(w.state)),
        )
      ) {
        m.calypsoFinal = now;
        tailLoop = performance.eventLoopUtilization();
        tailMachine = machineCpu();
      }
      if (m.calypsoFinal !== undefined && m.webhooksDelivered === undefined) {
        const deliveries = sandbox.inspect.webhookDeliveries();
        if (deliveries.every((d) => d.state === 'delivered' || d.state === 'failed')) {
          m.webhooksDelivered = now;
        }
      }
    };
    watcher = setInterval(watchCalypso, WATCH_MS);
    const deadline = t0 + options.timeoutMs;
    while (m.final === undefined) {
      if (performance.now() > deadline) {
        throw new Error(`the payout was not final after ${seconds(options.timeoutMs)}`);
      }
      // As its creator: reads are scoped by owner, anyone else gets 404.
      const view = await request(ctx, 'GET', `/payouts/${payout.id}`, {
        headers: { 'x-caller-id': 'bench' },
      });
      const state = (view.body as { state?: PayoutState }).state;
      if (state && TERMINAL_PAYOUT_STATES.includes(state)) m.final = performance.now() - t0;
      else await sleep(POLL_MS);
    }
    m.loopBusy = performance.eventLoopUtilization(loopBefore).utilization;
    const machineAfter = machineCpu();
    const busyShare = (before: ReturnType<typeof machineCpu>) =>
      before && machineAfter
        ? (machineAfter.busy - before.busy) / Math.max(1, machineAfter.total - before.total)
        : undefined;
    m.machineBusy = busyShare(machineBefore);
    // Calypso final before the payout: the watcher saw it; otherwise the tail is empty.
    m.tailLoopBusy = tailLoop ? performance.eventLoopUtilization(tailLoop).utilization : 0;
    m.tailMachineBusy = busyShare(tailMachine);
    const cpu = process.cpuUsage(cpuBefore);
    m.benchCores = (cpu.user + cpu.system) / 1000 / m.final;
    const dynamoCpuAfter = processCpuMs(ctx.dynamoPid);
    m.dynamoCores =
      dynamoCpuBefore === undefined || dynamoCpuAfter === undefined
        ? undefined
        : (dynamoCpuAfter - dynamoCpuBefore) / m.final;
    m.requests = totalRequests(ctx.counter.since(requestsBefore));
    // Webhooks may still be arriving: wait for the last one (bounded), for its milestone.
    while (m.webhooksDelivered === undefined && performance.now() < deadline) {
      watchCalypso();
      await sleep(WATCH_MS);
    }
    const deliveries = sandbox.inspect.webhookDeliveries();
    m.webhooks = deliveries.length;
    m.webhookFailures = deliveries.reduce(
      (n, d) => n + d.attempts.filter((a) => a.status !== 200).length,
      0,
    );
    m.ticks = ticks;
    if (submitErrors.length) throw submitErrors[0];
    if (applyErrors.length) throw applyErrors[0];
    return m as Milestones;
  } finally {
    if (timer) clearInterval(timer);
    if (watcher) clearInterval(watcher);
    await ticking;
    while (submissions.pending.size || applies.pending.size)
      await Promise.allSettled([...submissions.pending, ...applies.pending]);
    await sandbox.close();
  }
}

export interface EndToEndResult extends Load {
  recipients: number;
  speed: number;
  lifecycleMs: number;
  finalMs: number;
  ratio: number;
  webhooksMs: number;
  webhooks: number;
  calypsoFinalMs: number;
  intervalMs: number;
  cores: number;
  milestones: Milestones[];
}

export async function runEndToEnd(
  ctx: BenchContext,
  options: BenchOptions['e2e'],
): Promise<{ figure: Figure; result: EndToEndResult }> {
  const t = DEFAULT_TIMINGS;
  const lifecycleMs =
    (t.withdrawalsCreatedAfterMs + t.inProgressAfterMs + t.completedAfterMs) / options.speed;
  const intervalMs = Math.round(options.scheduleMs / options.speed);
  ctx.progress(
    `end to end: ${count(options.recipients)} BTC recipients, sandbox at ${options.speed}× (lifecycle ${seconds(lifecycleMs)}), reconciler every ${seconds(intervalMs)}`,
  );
  // Warm-up, untimed: one whole run (its own table, sandbox and addresses), so the first timed
  // run does not pay for every path's first use, DynamoDB Local's JIT included.
  await oneRun(ctx, options, options.runs);
  const runs: Milestones[] = [];
  for (let run = 0; run < options.runs; run++) {
    runs.push(await oneRun(ctx, options, run));
    const m = runs.at(-1)!;
    ctx.progress(
      `  run ${run + 1}/${options.runs}: 202 in ${seconds(m.accepted)}, Calypso final at ${seconds(m.calypsoFinal)}, payout final at ${seconds(m.final)}`,
    );
  }
  const med = (pick: (m: Milestones) => number) => median(runs.map(pick));
  const result: EndToEndResult = {
    recipients: options.recipients,
    speed: options.speed,
    lifecycleMs,
    finalMs: med((m) => m.final),
    webhooksMs: med((m) => m.webhooksDelivered),
    webhooks: med((m) => m.webhooks),
    calypsoFinalMs: med((m) => m.calypsoFinal),
    intervalMs,
    benchCores: med((m) => m.benchCores),
    loopBusy: med((m) => m.loopBusy),
    machineBusy: runs.every((m) => m.machineBusy !== undefined)
      ? med((m) => m.machineBusy!)
      : undefined,
    dynamoCores: runs.every((m) => m.dynamoCores !== undefined)
      ? med((m) => m.dynamoCores!)
      : undefined,
    tailLoopBusy: med((m) => m.tailLoopBusy),
    tailMachineBusy: runs.every((m) => m.tailMachineBusy !== undefined)
      ? med((m) => m.tailMachineBusy!)
      : undefined,
    cores: os.availableParallelism(),
    requests: med((m) => m.requests),
    ratio: pairedRatio(
      runs.map((m) => m.final),
      runs.map(() => lifecycleMs),
    ),
    milestones: runs,
  };
  const row = (label: string, pick: (m: Milestones) => number) => [
    label,
    seconds(med(pick)),
    ratio(med(pick) / lifecycleMs),
  ];
  const figure: Figure = {
    id: 'e2e',
    title: 'End to end: request to every payment final',
    method: [
      `One BTC payout of ${count(options.recipients)} recipients (${Math.ceil(options.recipients / 100)} batches of 100) POSTed to the local API, then \`GET /payouts/{id}\` every ${POLL_MS} ms until its state is final (the reconciler has confirmed every batch and counted every withdrawal). The sandbox runs on its real-time clock at ${options.speed}× speed: its lifecycle (withdrawals created after ${t.withdrawalsCreatedAfterMs / 1000} s, sent ${t.inProgressAfterMs / 1000} s later, completed ${t.completedAfterMs / 1000} s after that) takes **${seconds(lifecycleMs)}**, the baseline. It sends its signed webhooks to the local API, which stores each and applies it in-process after the answer (up to ${APPLY_CONCURRENCY} at once, the waiting ones a batch at a time). Submission runs in-process right after the 202; the reconciler runs on a timer every ${seconds(intervalMs)} (the deployed 1-minute schedule divided by the speed), with \`POLL_INTERVAL_MS\` the same; run k of ${options.runs} starts the timer at phase k/${options.runs} of a period after the request (a deployed schedule's phase is arbitrary), so the median is over several phases. Each run has a fresh table and sandbox; ${options.runs} run(s), after one untimed run of the same scenario that warms every path up (DynamoDB Local's JIT included: without it the first runs were the slowest). Times are from sending the request; milestones are observed by polling, so each is up to ${POLL_MS} ms late.`,
    ],
    tables: [
      {
        headers: ['milestone', 'time (median)', 'ratio to the sandbox lifecycle'],
        rows: [
          row('202 Accepted', (m) => m.accepted),
          row('every batch created at Calypso', (m) => m.allAtCalypso),
          row('every withdrawal final at Calypso', (m) => m.calypsoFinal),
          row('every webhook delivered', (m) => m.webhooksDelivered),
          row('**payout final in GET /payouts/{id}**', (m) => m.final),
        ],
      },
    ],
    notes: [
      `Webhook deliveries per run: ${count(med((m) => m.webhooks))}, of which attempts not answered 200: ${count(med((m) => m.webhookFailures))} (median). Reconciler ticks started per run: ${count(med((m) => m.ticks))}.`,
      `Only a lookup confirms a final state and counts the withdrawals: the first webhook saying a payment ended has its batch looked up at once (one such look per batch per poll interval), as does the one saying the mass payout ended, in the apply path, so the payout turns final without waiting for a tick; the reconciler stays the safety net.`,
      `Where the time goes (medians). From every withdrawal final at Calypso to the payout final, the time this figure's ratio is about: ${result.tailMachineBusy === undefined ? '' : `this machine's ${result.cores} cores were ${Math.round(result.tailMachineBusy * 100)}% busy and `}the benchmark's event loop (the sandbox, the local API, the handlers, the applies and lookups, all on one) ${Math.round(result.tailLoopBusy * 100)}%. From the request to the payout final: ${result.machineBusy === undefined ? '' : `cores ${Math.round(result.machineBusy * 100)}% busy, `}event loop ${Math.round(result.loopBusy * 100)}%, the benchmark's process using ${result.benchCores.toFixed(2)} core(s)${result.dynamoCores === undefined ? '' : ` and DynamoDB Local ${result.dynamoCores.toFixed(2)}`}, for ${count(result.requests)} DynamoDB requests (${count(result.requests / Math.max(1, result.webhooks), 1)} per webhook delivered). The sandbox's timers share that event loop, so Calypso's side runs late too while it is busy.`,
    ],
  };
  return { figure, result };
}
