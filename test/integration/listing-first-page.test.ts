/**
 * The whole system against a Calypso that numbers listing pages from 1 (the guide's example
 * answers `"page": 1`): with `CALYPSO_FIRST_PAGE=1` a payout whose withdrawals span several
 * pages is tracked to its final state, every listing asking from page 1 and for every state.
 * A mass payout Calypso ends COMPLETED with a failed payment among the others is reported
 * COMPLETED_WITH_FAILURES.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TERMINAL_PAYOUT_STATES } from '../../shared/domain/payout.js';
import { evmAddress, recipients } from '../support/recipients.js';
import { startTestStack, type TestStack } from '../support/stack.js';

/** More than one page of 100 (the client's page size) in one mass payout. */
const COUNT = 110;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({
    sandbox: { firstPage: 1 },
    env: { CALYPSO_FIRST_PAGE: '1' },
  });
});
afterAll(async () => {
  await stack?.close();
});

it('tracks a payout of several listing pages to its final state, paging from 1', async () => {
  expect(stack.system().config.calypso.firstPage).toBe(1);
  const list = recipients(
    COUNT,
    (i) => evmAddress(`first-page-${i}`),
    () => '0.001',
  );
  stack.sandbox.faults.failAddresses([list[101]!.address]);
  const created = await stack.request('POST', '/payouts', {
    body: { currency: 'ETH', name: 'paged from 1', recipients: list },
    headers: { 'idempotency-key': `key-${randomUUID()}` },
  });
  expect(created.status).toBe(202);
  await stack.settle();
  const id = created.body.id as string;

  let payout: any;
  for (let tick = 0; tick < 8; tick++) {
    await stack.advance(61_000);
    await stack.reconcile();
    payout = (await stack.request('GET', `/payouts/${id}`)).body;
    if (TERMINAL_PAYOUT_STATES.includes(payout.state)) break;
  }

  // Calypso's own state is COMPLETED (the guide's rule); ours says some payments failed.
  expect(payout.batches.map((b: any) => b.calypsoState)).toEqual(['COMPLETED']);
  expect(payout.state).toBe('COMPLETED_WITH_FAILURES');
  expect(payout.withdrawalCounts).toEqual({ COMPLETED: COUNT - 1, FAILED: 1 });

  const listings = stack.sandbox.inspect
    .requests()
    .filter((r) => r.operation === 'listWithdrawals');
  expect(listings.length).toBeGreaterThan(0);
  const pages = listings.map((r) => JSON.parse(r.body).payload);
  expect(listings.every((r) => r.status === 200)).toBe(true);
  expect(pages.every((p) => p.page >= 1)).toBe(true);
  // Once the withdrawals exist, a look reads page 1 and page 2 (10 of 110), and no empty page.
  expect(pages.some((p) => p.page === 2)).toBe(true);
  expect(pages.some((p) => p.page === 3)).toBe(false);
  for (const p of pages) {
    expect(p.stateNames).toEqual([
      'DRAFT',
      'IN_PROGRESS',
      'COMPLETED',
      'REPLACED',
      'FAILED',
      'CANCELED',
    ]);
  }
}, 120_000);
