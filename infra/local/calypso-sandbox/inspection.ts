/**
 * What tests read back: the log of every request received, and snapshots of the sandbox's state
 * with amounts as decimal strings.
 */
import type { Deal, Withdrawal } from './store.js';
import type { PayoutSnapshot, RecordedRequest, WithdrawalSnapshot } from './types.js';

export class RequestLog {
  private records: RecordedRequest[] = [];
  private seq = 1;

  /** Starts a record; the caller fills in the outcome as the request is handled. */
  begin(
    fields: Pick<RecordedRequest, 'receivedAt' | 'method' | 'path' | 'apiKey' | 'sign' | 'body'>,
  ) {
    const record: RecordedRequest = {
      seq: this.seq++,
      ...fields,
      operation: null,
      signatureValid: null,
      verdict: 'rejected',
      status: null,
      errorCode: null,
      message: null,
      fault: null,
    };
    this.records.push(record);
    return record;
  }

  /** Authenticated mass payout creates that carried this key, whatever became of them. */
  massPayoutCreateAttempts(idempotencyKey: string): number {
    return this.records.filter(
      (r) =>
        r.operation === 'createMassPayout' &&
        r.signatureValid === true &&
        payloadKey(r.body) === idempotencyKey,
    ).length;
  }

  snapshot(): RecordedRequest[] {
    return this.records.map((r) => ({ ...r }));
  }

  reset(): void {
    this.records = [];
  }
}

export function payoutSnapshot(deal: Deal): PayoutSnapshot {
  return {
    kind: deal.kind,
    id: deal.id,
    account: deal.account,
    idempotencyKey: deal.idempotencyKey,
    currency: deal.currency,
    name: deal.name ?? null,
    comment: deal.comment ?? null,
    state: deal.state,
    createdAt: deal.createdAt,
    executionDate: deal.executionDate ?? null,
    totalCalypsoFee: deal.totalCalypsoFee.toString(),
    withdrawals: deal.withdrawals.map(withdrawalSnapshot),
  };
}

function withdrawalSnapshot(withdrawal: Withdrawal): WithdrawalSnapshot {
  return {
    id: withdrawal.id,
    depositAddress: withdrawal.depositAddress,
    amount: withdrawal.amount.toString(),
    externalId: withdrawal.externalId ?? null,
    state: withdrawal.state,
    calypsoFee: withdrawal.calypsoFee.toString(),
    transactionHash: withdrawal.transactionHash,
    createdAt: withdrawal.createdAt,
    errors: withdrawal.errors.map((e) => ({ ...e })),
    replaces: withdrawal.replaces ?? null,
  };
}

function payloadKey(body: string): unknown {
  try {
    return (JSON.parse(body) as { payload?: { idempotencyKey?: unknown } }).payload?.idempotencyKey;
  } catch {
    return undefined;
  }
}
