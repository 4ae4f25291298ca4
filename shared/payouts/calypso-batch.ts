/**
 * A batch as Calypso holds it, whichever way it was sent: one mass payout with its withdrawals,
 * or one single payout (calypso-api.md §3: "same states and webhooks as a mass payout") whose one
 * payment is read from the payout itself. Submission, tracking and retry-failed speak only this.
 */
import type { BatchRecord, PayoutRecord, WithdrawalRecord } from '../domain/payout.js';
import type { MassPayout, SinglePayout, Withdrawal } from '../calypso/schemas.js';
import { CalypsoNotFoundError } from '../calypso/errors.js';
import { Decimal } from '../domain/money.js';
import type { CalypsoApi } from './ports.js';

export interface CalypsoBatch {
  /** Calypso's id of the mass payout or single payout. */
  id: string;
  /** The payout's state (a mass payout's states, for both kinds). */
  state: string;
  totalFee?: Decimal;
  feePercentage?: Decimal;
}

type Kind = NonNullable<BatchRecord['kind']>;
type Sent = Pick<BatchRecord, 'idempotencyKey' | 'calypsoId'> & { kind?: Kind };

function fromMass(mass: MassPayout): CalypsoBatch {
  return {
    id: mass.id,
    state: mass.state,
    ...(mass.totalCalypsoFee ? { totalFee: mass.totalCalypsoFee } : {}),
    ...(mass.totalCalypsoFeePercentage ? { feePercentage: mass.totalCalypsoFeePercentage } : {}),
  };
}

/** A single payout's state is not always given; unknown values are kept and are not final. */
function fromSingle(single: SinglePayout): CalypsoBatch {
  return {
    id: single.id,
    state: single.state ?? 'UNKNOWN',
    ...(single.calypsoFee ? { totalFee: single.calypsoFee } : {}),
    ...(single.calypsoFeePercentage ? { feePercentage: single.calypsoFeePercentage } : {}),
  };
}

/**
 * The state of a single payout's one payment, read from the payout's: final states carry over;
 * before Calypso starts sending, the payment is a DRAFT.
 */
export function singlePaymentState(payoutState: string | undefined): string {
  switch (payoutState) {
    case undefined:
    case 'CREATION_IN_PROGRESS':
    case 'PENDING_CONFIRMATION':
    case 'CONFIRMED':
      return 'DRAFT';
    default:
      return payoutState;
  }
}

/** A single payout's one payment, as a withdrawal. */
export function singleAsWithdrawal(single: SinglePayout, ours?: WithdrawalRecord): Withdrawal {
  return {
    id: single.withdrawalId ?? single.id,
    state: singlePaymentState(single.state),
    amount: single.amount ?? Decimal.parse(ours?.amount ?? '0'),
    withdrawalErrors: single.withdrawalErrors,
    ...(single.currency !== undefined ? { currency: single.currency } : {}),
    ...(single.depositAddress !== undefined
      ? { depositAddress: single.depositAddress }
      : ours
        ? { depositAddress: ours.address }
        : {}),
    ...(single.externalId !== undefined ? { externalId: single.externalId } : {}),
    ...(single.calypsoFee !== undefined ? { calypsoFee: single.calypsoFee } : {}),
    ...(single.transactionHash !== undefined ? { transactionHash: single.transactionHash } : {}),
    ...(single.createdDate !== undefined ? { createdDate: single.createdDate } : {}),
  };
}

/** What Calypso holds under the batch's key; undefined when it holds nothing. */
export async function findByKey(
  client: CalypsoApi,
  batch: Sent,
): Promise<CalypsoBatch | undefined> {
  try {
    return batch.kind === 'single'
      ? fromSingle(await client.getPayout({ idempotencyKey: batch.idempotencyKey }))
      : fromMass(await client.getMassPayout({ idempotencyKey: batch.idempotencyKey }));
  } catch (err) {
    if (err instanceof CalypsoNotFoundError) return undefined;
    throw err;
  }
}

/** The batch and every payment of it, as Calypso reports them now. */
export async function readBatch(
  client: CalypsoApi,
  batch: Sent,
  ours: () => Promise<WithdrawalRecord[]>,
): Promise<{ payout: CalypsoBatch; withdrawals: Withdrawal[] }> {
  const by = batch.calypsoId ? { id: batch.calypsoId } : { idempotencyKey: batch.idempotencyKey };
  if (batch.kind === 'single') {
    const single = await client.getPayout(by);
    const [mine] = await ours();
    return { payout: fromSingle(single), withdrawals: [singleAsWithdrawal(single, mine)] };
  }
  const mass = await client.getMassPayout(by);
  return { payout: fromMass(mass), withdrawals: await client.listWithdrawals({ dealId: mass.id }) };
}

/** Only the batch's payments at Calypso: a mass payout's by its id, without reading the payout. */
export async function readBatchWithdrawals(
  client: CalypsoApi,
  batch: Sent,
  ours: () => Promise<WithdrawalRecord[]>,
): Promise<Withdrawal[]> {
  if (batch.kind !== 'single' && batch.calypsoId) {
    return client.listWithdrawals({ dealId: batch.calypsoId });
  }
  return (await readBatch(client, batch, ours)).withdrawals;
}

/**
 * Creates the batch at Calypso under its stored key: a single payout for a single batch (its one
 * recipient), a mass payout otherwise.
 */
export async function createAtCalypso(
  client: CalypsoApi,
  payout: Pick<PayoutRecord, 'name' | 'comment' | 'currency' | 'batchCount'>,
  batch: Pick<BatchRecord, 'index' | 'idempotencyKey' | 'kind'>,
  recipients: readonly WithdrawalRecord[],
  executionDate: string | undefined,
): Promise<CalypsoBatch> {
  const when = executionDate ? { executionDate } : {};
  const comment = payout.comment !== undefined ? { comment: payout.comment } : {};
  if (batch.kind === 'single') {
    const [r] = recipients;
    if (!r || recipients.length !== 1) throw new Error('a single payout has exactly one recipient');
    return fromSingle(
      await client.createPayout({
        currency: payout.currency,
        depositAddress: r.address,
        amount: Decimal.parse(r.amount),
        idempotencyKey: batch.idempotencyKey,
        ...comment,
        ...when,
        ...(r.externalId !== undefined ? { externalId: r.externalId } : {}),
      }),
    );
  }
  return fromMass(
    await client.createMassPayout({
      currency: payout.currency,
      name:
        payout.batchCount > 1
          ? `${payout.name} (${batch.index + 1}/${payout.batchCount})`
          : payout.name,
      idempotencyKey: batch.idempotencyKey,
      ...comment,
      ...when,
      massAddresses: recipients.map((r) => ({
        depositAddress: r.address,
        amount: Decimal.parse(r.amount),
        ...(r.externalId !== undefined ? { externalId: r.externalId } : {}),
      })),
    }),
  );
}
