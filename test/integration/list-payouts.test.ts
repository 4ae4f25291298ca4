/**
 * GET /payouts through the local API, DynamoDB Local and the sandbox: each owner lists only its
 * own payouts and an auditor lists everyone's, newest first; the state, stuck and createdAfter
 * filters; paging one at a time through the cursor; a cursor of another listing refused.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { btcAddress, recipients } from '../support/recipients.js';
import { as, role } from '../support/callers.js';
import { startTestStack, type TestStack } from '../support/stack.js';

const PAYROLL = 'payroll-svc';
const AFFILIATES = 'affiliates-svc';
const AUDITOR = 'auditor';

let stack: TestStack;
/** Payroll's first payout (runs to COMPLETED), affiliates' one, payroll's stuck one. */
let done: string;
let other: string;
let stuck: string;
/** A time between the first two payouts and the stuck one. */
let between: string;

function body(prefix: string) {
  return {
    currency: 'BTC',
    name: prefix,
    recipients: recipients(
      2,
      (i) => btcAddress(`${prefix}-${i}`),
      () => '0.01',
    ),
  };
}

async function create(caller: string, prefix: string): Promise<string> {
  const res = await stack.request('POST', '/payouts', {
    body: body(prefix),
    headers: as(caller, { 'idempotency-key': `key-${randomUUID()}` }),
  });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

const list = (caller: string, query = '') =>
  stack.request('GET', `/payouts${query}`, { headers: as(caller) });

const ids = (res: { body: { items: { id: string }[] } }) => res.body.items.map((p) => p.id);

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      TEAMS: JSON.stringify({ payroll: [role(PAYROLL)] }),
      AUDITORS: JSON.stringify([role(AUDITOR)]),
      STUCK_AFTER_MS: String(10 * 60_000),
    },
  });
  done = await create(role(PAYROLL), 'list-done');
  // The clock is manual: a second between the two, so newest first is one order.
  await stack.advance(1_000);
  other = await create(role(AFFILIATES), 'list-other');
  await stack.settle();
  await stack.advance(60_000);
  between = new Date(stack.sandbox.now()).toISOString();
  await stack.advance(1_000);
  // Calypso refuses every create from now on: this payout is never submitted, and goes stuck.
  stack.sandbox.faults.failNext('createMassPayout', { count: 100_000 });
  stuck = await create(role(PAYROLL), 'list-stuck');
  await stack.settle();
  for (let i = 0; i < 4; i++) {
    await stack.advance(5 * 60_000);
    await stack.reconcile();
  }
});
afterAll(async () => {
  await stack?.close();
});

describe('GET /payouts', () => {
  it("lists only the caller's owner's payouts, newest first; an auditor's lists all", async () => {
    const payroll = await list(role(PAYROLL));
    expect(payroll.status).toBe(200);
    expect(ids(payroll)).toEqual([stuck, done]);
    expect(payroll.body.cursor).toBeNull();
    expect(payroll.body.items[0]).toMatchObject({
      owner: 'team:payroll',
      name: 'list-stuck',
      recipientCount: 2,
      total: '0.02',
      createdBy: { principal: role(PAYROLL), session: null },
    });
    expect(ids(await list(role(AFFILIATES)))).toEqual([other]);
    expect(ids(await list(role(AUDITOR)))).toEqual([stuck, other, done]);
    // A principal with no payouts lists none.
    expect(ids(await list(role('nobody')))).toEqual([]);
  });

  it('filters by stored state', async () => {
    const read = await stack.request('GET', `/payouts/${done}`, { headers: as(role(PAYROLL)) });
    expect(read.body.state).toBe('COMPLETED');
    expect(ids(await list(role(PAYROLL), '?state=COMPLETED'))).toEqual([done]);
    expect(ids(await list(role(AUDITOR), '?state=COMPLETED'))).toEqual([other, done]);
    expect(ids(await list(role(PAYROLL), '?state=ACCEPTED'))).toEqual([stuck]);
    expect(ids(await list(role(AFFILIATES), '?state=ACCEPTED'))).toEqual([]);
  });

  it('filters the stuck ones', async () => {
    const page = await list(role(PAYROLL), '?stuck=true');
    expect(ids(page)).toEqual([stuck]);
    expect(page.body.items[0].stuck).toBe(true);
    expect(ids(await list(role(AUDITOR), '?stuck=true'))).toEqual([stuck]);
    expect(ids(await list(role(AFFILIATES), '?stuck=true'))).toEqual([]);
    // stuck=false is no filter.
    expect(ids(await list(role(PAYROLL), '?stuck=false'))).toEqual([stuck, done]);
  });

  it('filters by creation time, in any zone', async () => {
    expect(ids(await list(role(PAYROLL), `?createdAfter=${between}`))).toEqual([stuck]);
    expect(ids(await list(role(AUDITOR), `?createdAfter=${between}`))).toEqual([stuck]);
    // The same instant written with an offset.
    const shifted = new Date(Date.parse(between) + 2 * 3_600_000)
      .toISOString()
      .replace('Z', '+02:00');
    expect(ids(await list(role(AUDITOR), `?createdAfter=${encodeURIComponent(shifted)}`))).toEqual([
      stuck,
    ]);
    const before = new Date(Date.parse(between) - 3_600_000).toISOString();
    expect(ids(await list(role(AUDITOR), `?createdAfter=${before}`))).toEqual([stuck, other, done]);
  });

  it('pages one at a time through the cursor, with the filters kept', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await list(
        role(AUDITOR),
        `?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(1);
      seen.push(...ids(res));
      cursor = res.body.cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual([stuck, other, done]);

    const first = await list(role(AUDITOR), '?state=COMPLETED&limit=1');
    expect(ids(first)).toEqual([other]);
    const second = await list(
      role(AUDITOR),
      `?state=COMPLETED&limit=1&cursor=${encodeURIComponent(first.body.cursor)}`,
    );
    expect(ids(second)).toEqual([done]);
  });

  it("refuses another owner's cursor, and another listing's", async () => {
    const payroll = await list(role(PAYROLL), '?limit=1');
    expect(payroll.body.cursor).toEqual(expect.any(String));
    const foreign = await list(
      role(AFFILIATES),
      `?cursor=${encodeURIComponent(payroll.body.cursor)}`,
    );
    expect(foreign.status).toBe(400);
    expect(foreign.body.errors).toEqual([expect.objectContaining({ path: 'query:cursor' })]);
    // The payroll owner's cursor is not the auditor's listing either.
    const audit = await list(role(AUDITOR), `?cursor=${encodeURIComponent(payroll.body.cursor)}`);
    expect(audit.status).toBe(400);
    const events = await stack.request('GET', `/payouts/${done}/events?limit=1`, {
      headers: as(role(PAYROLL)),
    });
    expect(events.body.cursor).toEqual(expect.any(String));
    const wrong = await list(role(PAYROLL), `?cursor=${encodeURIComponent(events.body.cursor)}`);
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toEqual([expect.objectContaining({ path: 'query:cursor' })]);
  });

  it('a payout that recovers leaves the stuck listing (after the tests above: it changes the data)', async () => {
    stack.sandbox.faults.clear();
    for (let i = 0; i < 4; i++) {
      await stack.advance(5 * 60_000);
      await stack.reconcile();
    }
    const read = await stack.request('GET', `/payouts/${stuck}`, { headers: as(role(PAYROLL)) });
    expect(read.body.stuck).toBe(false);
    expect(ids(await list(role(AUDITOR), '?stuck=true'))).toEqual([]);
    const listed = (await list(role(PAYROLL))).body.items[0];
    expect(listed).toMatchObject({ id: stuck, stuck: false, state: read.body.state });
  });

  it.each([
    ['state', 'NOPE'],
    ['stuck', 'yes'],
    ['createdAfter', 'yesterday'],
    ['createdAfter', '2030-01-31T12:00:00'],
    ['createdAfter', '2030-02-30T00:00:00Z'],
    ['limit', '0'],
    ['limit', '1001'],
  ])('answers 400 naming query:%s for %s', async (name, value) => {
    const res = await list(role(PAYROLL), `?${name}=${encodeURIComponent(value)}`);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: `query:${name}` })]);
  });
});
