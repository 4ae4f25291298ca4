/**
 * create: `POST /payouts` through the local API (validation, planning, the idempotent write),
 * against the floor of writing the very same items straight to DynamoDB: BatchWriteItem (25 a
 * call, as many calls in flight as the repository uses) plus one transaction for the payout and
 * its idempotency item.
 */
import {
  BatchWriteItemCommand,
  TransactWriteItemsCommand,
  type AttributeValue,
  type BatchWriteItemCommandInput,
  type PutItemCommandInput,
  type TransactWriteItemsCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { createTable, describeCounts, totalRequests, type RequestCounts } from '../dynamo.js';
import type { BenchOptions } from '../options.js';
import { evmChecksummed, payoutBody, recipients } from '../recipients.js';
import type { Figure } from '../report.js';
import { configure, request, type BenchContext } from '../stack.js';
import { forEachLimit } from '../../shared/concurrency.js';
import { count, median, ms, pairedRatio, ratio, timeMs } from '../stats.js';

/** The repository's default number of BatchWriteItem calls in flight. */
const WRITE_CONCURRENCY = 4;
const CURRENCY = 'USDT';

interface CapturedWrite {
  batches: WriteRequest[][];
  payoutItem: Record<string, AttributeValue>;
  idempotencyItem: Record<string, AttributeValue>;
}

export interface CreateResult {
  size: number;
  productMs: number;
  floorMs: number;
  ratio: number;
  requests: RequestCounts;
  items: number;
  batches: number;
}

async function postPayout(ctx: BenchContext, body: string, key: string) {
  const res = await request(ctx, 'POST', '/payouts', {
    body,
    headers: { 'idempotency-key': key, 'x-caller-id': 'bench' },
  });
  if (res.status !== 202) {
    throw new Error(
      `POST /payouts answered ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`,
    );
  }
  return res.body as { id: string; batches: unknown[] };
}

/** Runs one create and records what it wrote. */
async function captureCreate(ctx: BenchContext, body: string, key: string) {
  const tableName = await createTable(ctx.db, 'create');
  await configure(ctx, { tableName });
  const batches: WriteRequest[][] = [];
  let payoutItem: Record<string, AttributeValue> | undefined;
  let idempotencyItem: Record<string, AttributeValue> | undefined;
  ctx.counter.listener = (command, input) => {
    if (command === 'BatchWriteItemCommand') {
      const requests = (input as BatchWriteItemCommandInput).RequestItems?.[tableName];
      if (requests) batches.push(requests);
    } else if (command === 'TransactWriteItemsCommand') {
      const put = (input as TransactWriteItemsCommandInput).TransactItems?.find((t) => t.Put)?.Put;
      payoutItem = put?.Item;
    } else if (command === 'PutItemCommand') {
      idempotencyItem = (input as PutItemCommandInput).Item;
    }
  };
  const before = ctx.counter.snapshot();
  try {
    await postPayout(ctx, body, key);
  } finally {
    ctx.counter.listener = undefined;
  }
  const requests = ctx.counter.since(before);
  if (!payoutItem || !idempotencyItem) throw new Error('the create wrote no payout transaction');
  return {
    captured: {
      batches,
      payoutItem,
      idempotencyItem: { ...idempotencyItem, state: { S: 'COMMITTED' } },
    } satisfies CapturedWrite,
    requests,
  };
}

/** The floor: the same items, written directly. */
async function writeFloor(ctx: BenchContext, tableName: string, captured: CapturedWrite) {
  await forEachLimit(captured.batches, WRITE_CONCURRENCY, async (chunk) => {
    let pending = chunk;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= 10) throw new Error('BatchWriteItem kept items unprocessed');
      const result = await ctx.db.send(
        new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
      );
      pending = result.UnprocessedItems?.[tableName] ?? [];
    }
  });
  await ctx.db.send(
    new TransactWriteItemsCommand({
      TransactItems: [
        {
          Put: {
            TableName: tableName,
            Item: captured.payoutItem,
            ConditionExpression: 'attribute_not_exists(PK)',
          },
        },
        { Put: { TableName: tableName, Item: captured.idempotencyItem } },
      ],
    }),
  );
}

export async function runCreate(
  ctx: BenchContext,
  options: BenchOptions['create'],
): Promise<{ figure: Figure; results: CreateResult[] }> {
  const results: CreateResult[] = [];
  for (const size of options.sizes) {
    const body = JSON.stringify(
      payoutBody(
        CURRENCY,
        recipients(size, (i) => evmChecksummed(`create-${i}`), 6),
      ),
    );
    ctx.progress(`create: ${count(size)} recipients (${(body.length / 1e6).toFixed(2)} MB body)`);
    // A first, untimed create warms the path up and records the items it writes.
    const { captured, requests } = await captureCreate(
      ctx,
      body,
      `bench-warm-${size}-${Date.now()}`,
    );
    const items = captured.batches.reduce((n, b) => n + b.length, 0) + 2;
    const product: number[] = [];
    const floor: number[] = [];
    for (let run = 0; run < options.runs; run++) {
      const productTable = await createTable(ctx.db, 'create');
      const floorTable = await createTable(ctx.db, 'floor');
      const measureProduct = async () => {
        await configure(ctx, { tableName: productTable });
        product.push(
          await timeMs(() => postPayout(ctx, body, `bench-${size}-${run}-${Date.now()}`)),
        );
      };
      const measureFloor = async () => {
        floor.push(await timeMs(() => writeFloor(ctx, floorTable, captured)));
      };
      // Alternate the order so neither side always runs on a warmer machine.
      if (run % 2 === 0) {
        await measureProduct();
        await measureFloor();
      } else {
        await measureFloor();
        await measureProduct();
      }
      ctx.progress(
        `  run ${run + 1}/${options.runs}: POST ${ms(product.at(-1)!)}, floor ${ms(floor.at(-1)!)}`,
      );
    }
    results.push({
      size,
      productMs: median(product),
      floorMs: median(floor),
      ratio: pairedRatio(product, floor),
      requests,
      items,
      batches: Math.ceil(size / 1000),
    });
  }

  const figure: Figure = {
    id: 'create',
    title: 'Create: POST /payouts',
    method: [
      `A ${CURRENCY} payout (Ethereum network, 1,000 recipients a batch) whose recipients all have EIP-55 mixed-case addresses and an externalId, sent as one request to the local API: the create handler validates it, plans the batches, claims the idempotency key, writes batches, provider keys and withdrawals with BatchWriteItem and commits the payout in one transaction, then reads it back for the 202. Each run uses a fresh table. The **floor** writes exactly the items that create wrote (recorded from an untimed create) into another fresh table: the same BatchWriteItem calls, ${WRITE_CONCURRENCY} in flight like the repository, then one transaction putting the payout and its idempotency item. Submission to Calypso is asynchronous and not part of the 202, so the bench hands it to no one. ${options.runs} runs per size, product and floor alternating which goes first.`,
    ],
    tables: [
      {
        headers: [
          'recipients',
          'POST /payouts (median)',
          'floor (median)',
          'ratio to floor',
          'DynamoDB requests per payout',
          'items written',
        ],
        rows: results.map((r) => [
          count(r.size),
          ms(r.productMs),
          ms(r.floorMs),
          ratio(r.ratio),
          `${count(totalRequests(r.requests))} (${describeCounts(r.requests)})`,
          count(r.items),
        ]),
      },
    ],
    notes: [],
  };
  return { figure, results };
}
