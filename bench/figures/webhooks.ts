/**
 * webhooks: signed Calypso events ingested (signature check on the raw body, dedupe record,
 * lookup of the batch, forward-only apply, audit, verdict), against raw PutItem on the same
 * DynamoDB at the same concurrency.
 */
import { randomUUID } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { sign } from '../../shared/calypso/signing.js';
import { createPayout } from '../../shared/payouts/create-payout.js';
import type { StoredEventRef } from '../../shared/payouts/ports.js';
import { APPLY_CONCURRENCY, inProcessApply } from '../../infra/local/apply-in-process.js';
import { applyWebhookEvent, receiveWebhook } from '../../shared/payouts/webhooks.js';
import { createDeps, trackDeps, webhookDeps, type System } from '../../shared/system.js';
import { createTable, describeCounts, totalRequests, type RequestCounts } from '../dynamo.js';
import type { BenchOptions } from '../options.js';
import { evmLowercase, payoutBody, recipients } from '../recipients.js';
import type { Figure } from '../report.js';
import { BENCH_WEBHOOK_KEYS, configure, request, type BenchContext } from '../stack.js';
import { forEachLimit } from '../../shared/concurrency.js';
import { count, median, ms, pairedRatio, rate, ratio, timeMs } from '../stats.js';

const CURRENCY = 'USDT';

interface SignedEvent {
  body: string;
  headers: Record<string, string>;
}

let nextEventId = 1_000_000;

/** A committed payout whose batches Calypso accepted, ready to receive events. */
async function submittedPayout(rt: System, n: number, tag: string) {
  const created = await createPayout(createDeps(rt), {
    caller: { principal: 'bench' },
    idempotencyKey: `bench-webhooks-${tag}`,
    body: payoutBody(
      CURRENCY,
      recipients(n, (i) => evmLowercase(`wh-${tag}-${i}`), 6),
    ),
  });
  if (!('payout' in created)) throw new Error('expected a payout');
  const payout = created.payout;
  const at = new Date().toISOString();
  for (const batch of payout.batches) {
    await rt.repository.updateBatch(payout.id, batch.index, {
      set: {
        status: 'SUBMITTED',
        calypsoId: String(500_000 + batch.index),
        calypsoState: 'IN_PROGRESS',
        updatedAt: at,
      },
    });
  }
  return payout;
}

/**
 * What Calypso sends for the withdrawals of a mass payout (see the sandbox's README): a
 * `PAYOUT_HASH_RECEIVED` when a payment is sent and a `PAYOUT_CHANGE_STATUS` when it is final.
 * Event i is about withdrawal i, the two kinds in turn.
 */
function withdrawalEvents(
  payout: { batches: { index: number; idempotencyKey: string; recipientCount: number }[] },
  n: number,
): SignedEvent[] {
  const requestId = randomUUID();
  const batchOf = payout.batches.flatMap((b) => Array.from({ length: b.recipientCount }, () => b));
  return Array.from({ length: n }, (_, i) => {
    const batch = batchOf[i]!;
    const type = i % 2 === 0 ? 'PAYOUT_HASH_RECEIVED' : 'PAYOUT_CHANGE_STATUS';
    const body = JSON.stringify({
      requestId,
      id: nextEventId++,
      createdDate: new Date().toISOString(),
      level: 'INFO',
      service: 'PAYOUT',
      eventType: type,
      data: {
        type,
        hash: `0x${i.toString(16).padStart(64, '0')}`,
        currency: CURRENCY,
        createdDate: new Date().toISOString(),
        payoutStatus: i % 2 === 0 ? 'IN_PROGRESS' : 'COMPLETED',
        idempotencyKey: batch.idempotencyKey,
        externalId: `r-${i}`,
        parentExternalId: 500_000 + batch.index,
      },
    });
    return {
      body,
      headers: {
        Key: BENCH_WEBHOOK_KEYS.publicKey,
        Sign: sign(body, BENCH_WEBHOOK_KEYS.secretKey),
      },
    };
  });
}

export interface WebhookPath {
  label: string;
  perSecond: number;
  /** Time of the path over time of the raw PutItems, per run, median. */
  ratio: number;
  /** DynamoDB requests and items read per event (the in-process paths). */
  requests?: RequestCounts;
  itemsRead?: number;
  /** Median time from the last answer until every event was applied. */
  applyAfterMs?: number;
  /** Time of the path over time of the HTTP floor (the local hop plus the PutItem), per run. */
  floorRatio?: number;
}

export interface WebhookResult {
  events: number;
  concurrency: number;
  useCase: WebhookPath;
  http: WebhookPath;
  /** Through HTTP, the applies run once the answers are timed (elsewhere, as on AWS). */
  httpDeferred: WebhookPath;
  put: WebhookPath;
  /** The local API's own hop (a request it answers 404 unread) plus the raw PutItem. */
  httpFloor: WebhookPath;
}

interface Path {
  label: string;
  /** Events for one run (their payout is set up here, untimed). */
  prepare: (run: number) => Promise<SignedEvent[]>;
  ingest: (events: SignedEvent[]) => Promise<void>;
  counted: boolean;
  times: number[];
  /** From the last answer until every apply it handed over finished. */
  applyTimes: number[];
  requests?: RequestCounts;
  itemsRead?: number;
}

export async function runWebhooks(
  ctx: BenchContext,
  options: BenchOptions['webhooks'],
): Promise<{ figure: Figure; result: WebhookResult }> {
  const tableName = await createTable(ctx.db, 'webhooks');
  // Stored events are applied in-process after each answer, as the local stack does.
  const applyErrors: unknown[] = [];
  const applies = inProcessApply(
    ({ eventId, providerKey }) => applyWebhookEvent(trackDeps(ctx.system()), eventId, providerKey),
    (err) => applyErrors.push(err),
  );
  /**
   * While set, stored events wait here and are applied once the ingest is timed: apply-webhook
   * runs in a function of its own on AWS, not on the webhook function's CPU.
   */
  let deferred: StoredEventRef[] | undefined;
  const settleApplies = async () => {
    const queued = deferred ?? [];
    deferred = undefined;
    for (const event of queued) await applies.trigger.trigger(event);
    while (applies.pending.size) await Promise.allSettled([...applies.pending]);
  };
  await configure(ctx, {
    tableName,
    applyWebhook: {
      trigger: (event) => {
        if (!deferred) return applies.trigger.trigger(event);
        deferred.push(event);
        return Promise.resolve();
      },
    },
  });
  const n = options.events;
  const c = options.concurrency;
  ctx.progress(`webhooks: ${count(n)} events per run and path, ${c} in flight`);

  let applied = 0;
  const check = (status: number, stored: unknown) => {
    if (status !== 200) throw new Error(`webhook answered ${status}`);
    if (stored !== true) throw new Error('webhook answered without storing');
  };
  /** After the applies settled (untimed): every event of the run applied, none left over. */
  const countApplied = async (events: SignedEvent[]) => {
    const repository = ctx.system().repository;
    for (const e of events) {
      const id = String((JSON.parse(e.body) as { id: number }).id);
      if ((await repository.getWebhookEvent(id))?.verdict === 'applied') applied++;
    }
  };
  const viaUseCase = async (events: SignedEvent[]) => {
    const deps = webhookDeps(ctx.system());
    await forEachLimit(events, c, async (e) => {
      const outcome = await receiveWebhook(deps, e.body, e.headers);
      if (outcome.kind !== 'stored') throw new Error(`webhook ${outcome.kind}`);
    });
  };
  const viaHttp = async (events: SignedEvent[]) => {
    await forEachLimit(events, c, async (e) => {
      const reply = await request(ctx, 'POST', '/webhooks/calypso', {
        body: e.body,
        headers: e.headers,
      });
      check(reply.status, (reply.body as { stored?: unknown }).stored);
    });
  };
  let putSeq = 0;
  /** One raw PutItem of the event's body: the write the webhook must make, and no more. */
  const rawPut = (e: SignedEvent) =>
    ctx.db.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { PK: { S: `RAW#${putSeq++}` }, SK: { S: 'RAW' }, rawBody: { S: e.body } },
      }),
    );
  const rawPuts = async (events: SignedEvent[]) => {
    await forEachLimit(events, c, rawPut);
  };
  /**
   * What the HTTP path cannot go below here: the same request through the local API's server to
   * a path it answers 404 without a handler (the hop API Gateway makes on AWS), then the one
   * PutItem the handler must make.
   */
  const httpFloor = async (events: SignedEvent[]) => {
    await forEachLimit(events, c, async (e) => {
      const reply = await request(ctx, 'POST', '/webhooks/floor', {
        body: e.body,
        headers: e.headers,
      });
      if (reply.status !== 404) throw new Error(`the floor's hop answered ${reply.status}`);
      await rawPut(e);
    });
  };
  const tag = (name: string, run: number) => `${name}-${run}-${Date.now()}`;
  const paths: Path[] = [
    {
      label: 'use case (`receiveWebhook`)',
      prepare: async (run) =>
        withdrawalEvents(await submittedPayout(ctx.system(), n, tag('a', run)), n),
      ingest: viaUseCase,
      counted: true,
      times: [],
      applyTimes: [],
    },
    {
      label: 'HTTP (local API → handler)',
      prepare: async (run) =>
        withdrawalEvents(await submittedPayout(ctx.system(), n, tag('h', run)), n),
      ingest: viaHttp,
      counted: false,
      times: [],
      applyTimes: [],
    },
    {
      label: 'HTTP, applied after the answers (as on AWS)',
      prepare: async (run) =>
        withdrawalEvents(await submittedPayout(ctx.system(), n, tag('d', run)), n),
      ingest: async (events) => {
        deferred = [];
        await viaHttp(events);
      },
      counted: false,
      times: [],
      applyTimes: [],
    },
    {
      label: 'raw PutItem (baseline)',
      prepare: async (run) =>
        withdrawalEvents(await submittedPayout(ctx.system(), n, tag('p', run)), n),
      ingest: rawPuts,
      counted: false,
      times: [],
      applyTimes: [],
    },
    {
      label: 'local HTTP hop + raw PutItem (the HTTP floor)',
      prepare: async (run) =>
        withdrawalEvents(await submittedPayout(ctx.system(), n, tag('f', run)), n),
      ingest: httpFloor,
      counted: false,
      times: [],
      applyTimes: [],
    },
  ];
  const stores = (path: Path) => path === paths[0] || path === paths[1] || path === paths[2];

  // Warm-up, untimed: every path once, on a small payout.
  const warm = Math.min(n, 50);
  for (const path of paths) {
    await path.ingest(
      withdrawalEvents(await submittedPayout(ctx.system(), warm, tag('warm', 0)), warm),
    );
    await settleApplies();
  }

  for (let run = 0; run < options.runs; run++) {
    const prepared: SignedEvent[][] = [];
    for (const path of paths) prepared.push(await path.prepare(run));
    applied = 0;
    // Rotate the order so no path always runs first.
    for (let k = 0; k < paths.length; k++) {
      const i = (k + run) % paths.length;
      const path = paths[i]!;
      const before = ctx.counter.snapshot();
      const readBefore = ctx.counter.itemsRead;
      path.times.push(await timeMs(() => path.ingest(prepared[i]!)));
      // The applies still running after the last answer: not part of ingest, but counted.
      const applyMs = await timeMs(settleApplies);
      if (stores(path)) path.applyTimes.push(applyMs);
      if (path.counted) {
        path.requests = ctx.counter.since(before);
        path.itemsRead = (ctx.counter.itemsRead - readBefore) / n;
      }
      if (stores(path)) await countApplied(prepared[i]!);
    }
    if (applyErrors.length) throw new Error(`applying failed: ${String(applyErrors[0])}`);
    if (applied !== 3 * n) throw new Error(`expected ${3 * n} applied events, got ${applied}`);
    ctx.progress(
      `  run ${run + 1}/${options.runs}: ${paths.map((p) => `${rate((n / p.times.at(-1)!) * 1000)}/s`).join(', ')}`,
    );
  }
  const baseline = paths[3]!.times;
  const floor = paths[4]!.times;
  const summary = (path: Path): WebhookPath => ({
    label: path.label,
    perSecond: (n / median(path.times)) * 1000,
    ratio: pairedRatio(path.times, baseline),
    floorRatio: pairedRatio(path.times, floor),
    ...(path.requests ? { requests: path.requests } : {}),
    ...(path.itemsRead !== undefined ? { itemsRead: path.itemsRead } : {}),
    ...(path.applyTimes.length ? { applyAfterMs: median(path.applyTimes) } : {}),
  });
  const [useCase, http, httpDeferred, put, floorPath] = paths.map(summary) as [
    WebhookPath,
    WebhookPath,
    WebhookPath,
    WebhookPath,
    WebhookPath,
  ];
  const result: WebhookResult = {
    events: n,
    concurrency: c,
    useCase,
    http,
    httpDeferred,
    put,
    httpFloor: floorPath,
  };
  const figure: Figure = {
    id: 'webhooks',
    title: 'Webhooks: verified events ingested',
    method: [
      `${count(n)} distinct signed events per run and path, one per withdrawal of a submitted ${CURRENCY} payout of ${count(n)} recipients (a fresh payout per run and path), ${c} in flight: what Calypso sends for a mass payout's payments, \`PAYOUT_HASH_RECEIVED\` (sent, with its hash) and \`PAYOUT_CHANGE_STATUS\` (final) in turn. **Use case**: \`receiveWebhook\` called in-process: the signature check on the raw body and the event stored with one conditional PutItem (its dedupe record), then the answer; each stored event is applied after its answer (in-process, up to ${APPLY_CONCURRENCY} at once and a batch at a time, as the local stack does; an async invoke of apply-webhook on AWS), concurrently with the ingest that follows, and the time from the last answer until the last apply finished is shown apart. **HTTP**: the same events POSTed to \`/webhooks/calypso\` on the local API (API Gateway event, middy middlewares, handler), the applies running alongside as locally. **HTTP, applied after the answers**: the same, with the applies held until the last answer and run then (on AWS apply-webhook runs in its own function, so the webhook function's answers never share a CPU with them); the time of the applies is shown apart. **Baseline**: one raw PutItem per event (the event's body as the item) on the same DynamoDB Local, at the same concurrency. **HTTP floor**: the same request through the local API's server to a path it answers 404 without any handler (the hop API Gateway makes on AWS, here in the benchmark's own process), then the raw PutItem: what the HTTP path cannot go below on this machine. Ratios: time of the path over time of the PutItems, and over time of the HTTP floor. ${options.runs} runs, the order rotating; every event checked to be answered 200 as stored, and, once the applies finished, to be recorded \`applied\`.`,
    ],
    tables: [
      {
        headers: [
          'path',
          'events / s (median)',
          'ratio to raw PutItem (time)',
          'ratio to the HTTP floor (time)',
          'applies still running after the last answer (median)',
        ],
        rows: [useCase, http, httpDeferred, floorPath, put].map((p) => [
          p.label,
          rate(p.perSecond),
          ratio(p.ratio),
          p === useCase || p === put ? '' : ratio(p.floorRatio ?? 0),
          p.applyAfterMs === undefined ? '' : ms(p.applyAfterMs),
        ]),
      },
    ],
    notes: [
      `DynamoDB work per event on the use-case path, storing and applying together (the answer waits for one PutItem only): ${count(totalRequests(useCase.requests ?? {}) / n, 1)} requests (${describeCounts(useCase.requests ?? {}, n)}), ${count(useCase.itemsRead ?? 0, 1)} items read.`,
    ],
  };
  return { figure, result };
}
