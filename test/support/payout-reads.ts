/**
 * Reading a payout back through the local API of a test stack, and running Calypso's lifecycle
 * with reconciler ticks until the payout is final: the steps the tracking tests share.
 */
import { TERMINAL_PAYOUT_STATES } from '../../shared/domain/payout.js';
import type { TestStack } from './stack.js';

export function payoutReads(stack: () => TestStack) {
  const getPayout = async (id: string) => (await stack().request('GET', `/payouts/${id}`)).body;
  const withdrawals = async (id: string) =>
    (await stack().request('GET', `/payouts/${id}/withdrawals?limit=1000`)).body.items as any[];
  const events = async (id: string) =>
    (await stack().request('GET', `/payouts/${id}/events?limit=1000`)).body.items as any[];
  /** Lets Calypso's lifecycle run and the reconciler tick until the payout is final. */
  const runToEnd = async (id: string, ticks = 8) => {
    for (let i = 0; i < ticks; i++) {
      await stack().advance(61_000);
      await stack().reconcile();
      const payout = await getPayout(id);
      if (TERMINAL_PAYOUT_STATES.includes(payout.state)) return payout;
    }
    return getPayout(id);
  };
  return { getPayout, withdrawals, events, runToEnd };
}
