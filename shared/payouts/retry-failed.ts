/**
 * Re-paying a payout's failed payments: a new payout (new id, new Calypso keys) of exactly the
 * withdrawals that ended FAILED, linked both ways to the original. Allowed only once every
 * payment of the original is final; idempotent under the caller's own Idempotency-Key.
 */
import { isTerminalWithdrawalState, TERMINAL_PAYOUT_STATES } from '../domain/payout.js';
import { derivePayoutState } from '../domain/payout-state.js';
import { HttpProblem, problems } from '../http/problem.js';
import { createPayout, type CreatePayoutDeps } from './create-payout.js';
import { payoutView, type PayoutView } from './views.js';

export async function retryFailed(
  deps: CreatePayoutDeps,
  input: { caller: string; payoutId: string | undefined; idempotencyKey: string | undefined },
): Promise<{ status: 200 | 202; payout: PayoutView }> {
  const id = input.payoutId ?? '';
  const stored = /^[0-9a-f-]{36}$/.test(id)
    ? await deps.repository.getPayoutWithBatches(id)
    : undefined;
  if (!stored) throw problems.notFound(`payout ${JSON.stringify(id.slice(0, 64))}`);
  const state = derivePayoutState(stored.batches);
  if (!TERMINAL_PAYOUT_STATES.includes(state)) {
    throw new HttpProblem(409, 'not-final', 'The payout is not final yet', {
      detail: `the payout is ${state}; failed payments can be retried once every payment is final`,
      headers: { 'retry-after': '60' },
    });
  }
  const failed = [];
  for (const batch of [...stored.batches].sort((a, b) => a.index - b.index)) {
    const withdrawals = await deps.repository.listBatchWithdrawals(id, batch.index);
    if (
      batch.status !== 'REJECTED' &&
      withdrawals.some((w) => !isTerminalWithdrawalState(w.state) && w.state !== 'CANCELED')
    ) {
      throw new HttpProblem(409, 'not-final', 'Some payments are not final yet', {
        detail: `batch ${batch.index} still has payments in progress`,
        headers: { 'retry-after': '60' },
      });
    }
    failed.push(...withdrawals.filter((w) => w.state === 'FAILED'));
  }
  if (failed.length === 0) {
    throw new HttpProblem(422, 'nothing-to-retry', 'No failed payments to retry', {
      detail: 'every payment of this payout completed or was not attempted',
    });
  }
  failed.sort((a, b) => a.requestIndex - b.requestIndex);
  const { payout } = stored;
  const result = await createPayout(deps, {
    caller: input.caller,
    idempotencyKey: input.idempotencyKey,
    retryOf: payout.id,
    body: {
      currency: payout.currency,
      name: `${payout.name} (retry)`.slice(0, 200),
      ...(payout.comment !== undefined ? { comment: payout.comment } : {}),
      recipients: failed.map((w) => ({
        address: w.address,
        amount: w.amount,
        ...(w.externalId !== undefined ? { externalId: w.externalId } : {}),
      })),
    },
  });
  if ('dryRun' in result) throw new Error('unexpected dry run');
  await deps.repository.addRetriedBy(payout.id, result.payout.id, deps.clock.now());
  const linked = await deps.repository.getPayoutWithBatches(result.payout.id);
  return {
    status: result.status,
    payout: linked ? payoutView(linked.payout, linked.batches) : result.payout,
  };
}
