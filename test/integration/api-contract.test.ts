/**
 * The contract against the running system: the local stack serves openapi.json, accepts a
 * request built from the document's own example, and every answer (success or problem) has a
 * status the document lists for that route and a body its schema describes, field for field.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type * as z from 'zod/mini';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_FILE } from '../../infra/openapi.js';
import { matchRoute } from '../../infra/routes.js';
import { problemSchema } from '../../shared/http/schemas.js';
import {
  balancesSchema,
  dryRunSchema,
  pauseSchema,
  payoutEventPageSchema,
  payoutPageSchema,
  payoutSchema,
  withdrawalPageSchema,
} from '../../shared/payouts/schemas.js';
import { startTestStack, type TestStack } from '../support/stack.js';

type Json = Record<string, any>;
const doc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as Json;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

/** The document's operation for a concrete request. */
function operationFor(method: string, path: string): Json {
  const pathname = path.split('?')[0]!;
  const template = Object.keys(doc.paths).find((p) => matchRoute(p, pathname));
  expect(template, `${method} ${pathname} is in the document`).toBeDefined();
  return doc.paths[template!][method.toLowerCase()];
}

/**
 * Sends the request and checks the answer against the document: the status is listed, the
 * content type is the listed one, and the body parses with `schema` losing no field (a field the
 * view adds without the schema would be stripped by the parse and fail the comparison).
 */
async function call(
  method: string,
  path: string,
  schema: z.ZodMiniType,
  options: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const res = await stack.request(method, path, options);
  const documented = operationFor(method, path).responses[String(res.status)];
  expect(
    documented,
    `${method} ${path} answered ${res.status}, which the document lists`,
  ).toBeDefined();
  const contentType = res.headers.get('content-type');
  expect(Object.keys(documented.content)).toEqual([contentType]);
  expect(schema.parse(res.body)).toEqual(res.body);
  return res;
}

describe('the contract, served and kept', () => {
  it('serves openapi.json as committed', async () => {
    const res = await fetch(`${stack.api.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual(doc);
  });

  it("accepts POST /payouts built from the document's example", async () => {
    const op = doc.paths['/payouts'].post;
    const keyParam = op.parameters.find((p: Json) => p.name === 'Idempotency-Key');
    const example = op.requestBody.content['application/json'].example;
    // The example key, made unique so that a second run is a new payout too.
    const key = `${keyParam.example}-${randomUUID()}`;
    expect(key).toMatch(new RegExp(keyParam.schema.pattern));
    const res = await call('POST', '/payouts', payoutSchema, {
      body: example,
      headers: { 'idempotency-key': key },
    });
    expect(res.status).toBe(202);
    expect(res.body.recipientCount).toBe(example.recipients.length);
    expect(res.headers.get('location')).toBe(`/payouts/${res.body.id}`);
    expect(res.headers.get('x-correlation-id')).toBeTruthy();

    const again = await call('POST', '/payouts', payoutSchema, {
      body: example,
      headers: { 'idempotency-key': key },
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(res.body.id);
  });

  it('keeps every read of a payout to its schema', async () => {
    const example = doc.paths['/payouts'].post.requestBody.content['application/json'].example;
    const created = await call('POST', '/payouts', payoutSchema, {
      body: example,
      headers: { 'idempotency-key': `contract-${randomUUID()}` },
    });
    const id = created.body.id as string;
    await stack.advance(60_000); // submitted, settled at the sandbox, reported back
    await stack.reconcile();

    const payout = await call('GET', `/payouts/${id}`, payoutSchema);
    expect(payout.body.batches.length).toBeGreaterThan(0);
    const page = await call('GET', `/payouts/${id}/withdrawals?limit=1`, withdrawalPageSchema);
    expect(page.body.items).toHaveLength(1);
    expect(page.body.cursor).not.toBeNull();
    const found = await call(
      'GET',
      `/withdrawals?externalId=${example.recipients[0].externalId}`,
      withdrawalPageSchema,
    );
    expect(found.body.items.length).toBeGreaterThan(0);
    const events = await call('GET', `/payouts/${id}/events`, payoutEventPageSchema);
    expect(events.body.items.length).toBeGreaterThan(0);
    await call('GET', '/balances', balancesSchema);
    await call('GET', '/approvals', payoutPageSchema);
    await call('GET', '/admin/pause', pauseSchema);
    const dryRun = await call('POST', '/payouts?dryRun=true', dryRunSchema, { body: example });
    expect(dryRun.body.dryRun).toBe(true);
  });

  it('answers each error with a documented status and a Problem body', async () => {
    const example = doc.paths['/payouts'].post.requestBody.content['application/json'].example;
    const key = { 'idempotency-key': `contract-${randomUUID()}` };
    const refusals = [
      await call('POST', '/payouts', problemSchema, { body: example }), // no key: 400
      await call('POST', '/payouts', problemSchema, { body: '{', headers: key }), // 400
      await call('POST', '/payouts', problemSchema, {
        body: 'x',
        headers: { ...key, 'content-type': 'text/plain' },
      }), // 415
      await call('POST', '/payouts', problemSchema, {
        body: { ...example, recipients: [] },
        headers: key,
      }), // 422
      await call('GET', `/payouts/${randomUUID()}`, problemSchema), // 404
      await call('GET', '/payouts/' + randomUUID() + '/events?limit=0', problemSchema), // 400
      await call('GET', '/approvals?cursor=not-a-cursor', problemSchema), // 400
      await call('POST', '/admin/pause', problemSchema, { body: { reason: 'drill' } }), // 403
    ];
    expect(refusals.map((r) => r.status)).toEqual([400, 400, 415, 422, 404, 400, 400, 403]);
    for (const refusal of refusals) {
      expect(refusal.body.status).toBe(refusal.status);
      expect(refusal.body.type).toMatch(/^https:\/\/errors\.payouts\.internal\//);
    }
  });
});
