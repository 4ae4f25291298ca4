/**
 * How a payout moves once Calypso accepted it, on the sandbox clock:
 *
 *   created                      payout CREATION_IN_PROGRESS, no withdrawals yet
 *   + withdrawalsCreatedAfterMs  withdrawals exist, DRAFT; payout CONFIRMED   (PAYOUT_CONFIRMED)
 *   + inProgressAfterMs          (not before executionDate) payout IN_PROGRESS (PAYOUT_CHANGE_STATUS)
 *                                each withdrawal whose amount + fee the balance covers is debited
 *                                and sent: IN_PROGRESS with a transaction hash (PAYOUT_HASH_RECEIVED);
 *                                the others stay DRAFT with an unresolved NOT_ENOUGH_FUNDS error
 *                                (PAYOUT_VALIDATION_ERROR) until a top-up covers them, which marks
 *                                the error resolved and sends them
 *   + completedAfterMs           each sent withdrawal ends COMPLETED, or FAILED for a failing
 *                                address (no hash, funds returned)             (PAYOUT_CHANGE_STATUS)
 *   all withdrawals final        the payout's state by the guide's rule        (PAYOUT_CHANGE_STATUS)
 *
 * A single payout is a deal with one withdrawal; its own state follows that withdrawal.
 */
import type { Currency, CurrencyRegistry } from '../../../shared/domain/currencies.js';
import { Decimal } from '../../../shared/domain/money.js';
import type { Scheduler, SandboxClock } from './clock.js';
import type { FaultRegistry } from './faults.js';
import type { IdFactory } from './ids.js';
import { webhookDate } from './ids.js';
import {
  isTerminalWithdrawalState,
  type Deal,
  type PayoutState,
  type Recipient,
  type SandboxStore,
  type Withdrawal,
  type WithdrawalError,
  type WithdrawalState,
} from './store.js';
import type { EventLevel, WebhookDispatcher } from './webhooks.js';

export interface LifecycleTimings {
  withdrawalsCreatedAfterMs: number;
  inProgressAfterMs: number;
  completedAfterMs: number;
}

/**
 * The mass payout's state once none of its withdrawals is still moving, by the guide's rule
 * (calypso-api.md §4), in its order:
 *   1. none IN_PROGRESS, at least one COMPLETED             -> COMPLETED (failed ones or not)
 *   2. none IN_PROGRESS/COMPLETED, at least one FAILED      -> FAILED
 *   3. none IN_PROGRESS/COMPLETED/FAILED, one CANCELED      -> CANCELED
 * `mixedOutcome: 'PARTIAL'` turns rule 1 into PARTIAL when some payments also failed.
 * Undefined while any withdrawal is DRAFT or IN_PROGRESS (the guide: a payout waiting on a
 * validation error "remains in state IN_PROGRESS"), and when no rule applies.
 */
export function aggregatePayoutState(
  states: readonly WithdrawalState[],
  mixedOutcome: 'PARTIAL' | 'COMPLETED',
): PayoutState | undefined {
  if (states.length === 0 || !states.every(isTerminalWithdrawalState)) return undefined;
  const completed = states.includes('COMPLETED');
  const failed = states.includes('FAILED');
  if (completed) return failed && mixedOutcome === 'PARTIAL' ? 'PARTIAL' : 'COMPLETED';
  if (failed) return 'FAILED';
  if (states.includes('CANCELED')) return 'CANCELED';
  return undefined;
}

/** Calypso's fee on one payment: `amount × percentage / 100`, cut to the currency's decimals. */
export function calypsoFeeOn(amount: Decimal, percentage: Decimal, decimals: number): Decimal {
  const baseUnits = amount.toBaseUnits(decimals);
  const fee = (baseUnits * percentage.units) / (100n * 10n ** BigInt(percentage.scale));
  return Decimal.fromUnits(fee, decimals).normalize();
}

export interface NewDeal {
  kind: Deal['kind'];
  account: string;
  idempotencyKey: string;
  currency: Currency;
  name?: string;
  comment?: string;
  executionDate?: number;
  recipients: Recipient[];
}

export interface PayoutEngineDeps {
  store: SandboxStore;
  scheduler: Scheduler;
  clock: SandboxClock;
  ids: IdFactory;
  currencies: CurrencyRegistry;
  faults: FaultRegistry;
  webhooks: WebhookDispatcher;
  timings: LifecycleTimings;
  feePercentage: Decimal;
  mixedOutcomeState: 'PARTIAL' | 'COMPLETED';
}

export class PayoutEngine {
  constructor(private readonly deps: PayoutEngineDeps) {}

  /** Commits a new payout and schedules the rest of its life. */
  create(input: NewDeal): Deal {
    const { store, scheduler, clock, ids, feePercentage, timings } = this.deps;
    const fees = input.recipients.map((r) =>
      calypsoFeeOn(r.amount, feePercentage, input.currency.decimals),
    );
    const deal: Deal = {
      kind: input.kind,
      id: ids.dealId(),
      account: input.account,
      idempotencyKey: input.idempotencyKey,
      currency: input.currency.code,
      name: input.name,
      comment: input.comment,
      executionDate: input.executionDate,
      createdAt: clock.now(),
      state: 'CREATION_IN_PROGRESS',
      recipients: input.recipients,
      withdrawals: [],
      calypsoFeePercentage: feePercentage,
      totalCalypsoFee: Decimal.sum(fees).normalize(),
    };
    store.addDeal(deal);
    scheduler.after(timings.withdrawalsCreatedAfterMs, `withdrawals of ${deal.id}`, () =>
      this.createWithdrawals(deal),
    );
    return deal;
  }

  /** A balance went up: send whatever waited for funds in that currency, oldest first. */
  fundsAdded(account: string, currency: string): void {
    for (const deal of this.deps.store.deals.values()) {
      if (deal.account !== account || deal.currency !== currency) continue;
      if (deal.state !== 'IN_PROGRESS') continue;
      for (const withdrawal of deal.withdrawals) {
        if (withdrawal.state === 'DRAFT') this.send(deal, withdrawal);
      }
    }
  }

  private createWithdrawals(deal: Deal): void {
    if (!this.isCurrent(deal) || deal.state !== 'CREATION_IN_PROGRESS') return;
    const { ids, clock, scheduler, store, timings } = this.deps;
    const decimals = this.currency(deal).decimals;
    deal.withdrawals = deal.recipients.map((recipient) => ({
      id: ids.uuid(),
      dealId: deal.id,
      account: deal.account,
      currency: deal.currency,
      amount: recipient.amount,
      calypsoFee: calypsoFeeOn(recipient.amount, deal.calypsoFeePercentage, decimals),
      depositAddress: recipient.depositAddress,
      externalId: recipient.externalId,
      comment: deal.comment,
      state: 'DRAFT',
      transactionHash: null,
      createdAt: clock.now(),
      errors: [],
      willFail: false,
    }));
    store.withdrawals.push(...deal.withdrawals);
    this.setDealState(deal, 'CONFIRMED');
    const startAt = Math.max(clock.after(timings.inProgressAfterMs), deal.executionDate ?? 0);
    scheduler.at(startAt, `start ${deal.id}`, () => this.start(deal));
  }

  private start(deal: Deal): void {
    if (!this.isCurrent(deal) || deal.state !== 'CONFIRMED') return;
    this.setDealState(deal, 'IN_PROGRESS');
    for (const withdrawal of deal.withdrawals) this.send(deal, withdrawal);
  }

  /** Debits amount + fee and sends the payment, or records why the balance does not allow it. */
  private send(deal: Deal, withdrawal: Withdrawal): void {
    const { store, ids, faults, scheduler, timings } = this.deps;
    if (withdrawal.state !== 'DRAFT') return;
    const balance = store.balance(deal.account, deal.currency);
    const cost = withdrawal.amount.add(withdrawal.calypsoFee);
    if (balance.compare(cost) < 0) {
      this.raiseFundsError(deal, withdrawal, balance);
      return;
    }
    store.setBalance(deal.account, deal.currency, balance.sub(cost));
    for (const error of withdrawal.errors) error.errorResolved = true;
    withdrawal.state = 'IN_PROGRESS';
    withdrawal.willFail = faults.isFailingAddress(withdrawal.depositAddress);
    if (!withdrawal.willFail) {
      withdrawal.transactionHash = ids.transactionHash(this.currency(deal).network);
      this.emit(deal, 'PAYOUT_HASH_RECEIVED', 'INFO', {
        ...this.withdrawalEventFields(deal, withdrawal),
        payoutStatus: 'IN_PROGRESS',
      });
    }
    scheduler.after(timings.completedAfterMs, `settle ${withdrawal.id}`, () =>
      this.settle(deal, withdrawal),
    );
  }

  private raiseFundsError(deal: Deal, withdrawal: Withdrawal, balance: Decimal): void {
    if (withdrawal.errors.some((e) => !e.errorResolved)) return; // already reported
    const status =
      balance.compare(withdrawal.amount) >= 0
        ? 'NOT_ENOUGH_FUNDS_FOR_COMMISSION'
        : 'NOT_ENOUGH_FUNDS';
    const error: WithdrawalError = {
      id: this.deps.ids.withdrawalErrorId(),
      status,
      errorResolved: false,
      errorMessage:
        status === 'NOT_ENOUGH_FUNDS'
          ? `Not enough funds: ${withdrawal.amount.toString()} ${deal.currency} needed, balance ${balance.normalize().toString()}`
          : `Not enough funds for commission: ${withdrawal.amount.add(withdrawal.calypsoFee).toString()} ${deal.currency} needed, balance ${balance.normalize().toString()}`,
    };
    withdrawal.errors.push(error);
    this.emit(deal, 'PAYOUT_VALIDATION_ERROR', 'WARNING', {
      message: error.errorMessage,
      currency: deal.currency,
      externalId: withdrawal.externalId ?? null,
      createdDate: webhookDate(deal.createdAt),
      idempotencyKey: deal.idempotencyKey,
      dealWithdrawalId: withdrawal.id,
      parentExternalId: Number(deal.id),
      validationStatus: status,
    });
  }

  private settle(deal: Deal, withdrawal: Withdrawal): void {
    if (!this.isCurrent(deal) || withdrawal.state !== 'IN_PROGRESS') return;
    const { store } = this.deps;
    if (withdrawal.willFail) {
      withdrawal.state = 'FAILED';
      const balance = store.balance(deal.account, deal.currency);
      store.setBalance(
        deal.account,
        deal.currency,
        balance.add(withdrawal.amount).add(withdrawal.calypsoFee),
      );
    } else {
      withdrawal.state = 'COMPLETED';
    }
    if (deal.kind === 'mass') {
      this.emit(
        deal,
        'PAYOUT_CHANGE_STATUS',
        withdrawal.state === 'COMPLETED' ? 'SUCCESS' : 'WARNING',
        { ...this.withdrawalEventFields(deal, withdrawal), payoutStatus: withdrawal.state },
      );
    }
    const final =
      deal.kind === 'single'
        ? (withdrawal.state as PayoutState)
        : aggregatePayoutState(
            deal.withdrawals.map((w) => w.state),
            this.deps.mixedOutcomeState,
          );
    if (final) this.setDealState(deal, final);
    // Returned funds may cover payments that are waiting.
    if (withdrawal.state === 'FAILED') this.fundsAdded(deal.account, deal.currency);
  }

  private setDealState(deal: Deal, state: PayoutState): void {
    if (deal.state === state) return;
    deal.state = state;
    // A single payout's events speak of its one payment: its hash and externalId.
    const single = deal.kind === 'single' ? deal.withdrawals[0] : undefined;
    const fields = {
      hash: single?.transactionHash ?? null,
      currency: deal.currency,
      createdDate: webhookDate(deal.createdAt),
      payoutStatus: state,
      idempotencyKey: deal.idempotencyKey,
      parentExternalId: Number(deal.id),
      ...(single?.externalId !== undefined ? { externalId: single.externalId } : {}),
    };
    if (state === 'CONFIRMED') {
      this.emit(deal, 'PAYOUT_CONFIRMED', 'INFO', fields);
    } else {
      this.emit(deal, 'PAYOUT_CHANGE_STATUS', levelOf(state), fields);
    }
  }

  private withdrawalEventFields(deal: Deal, withdrawal: Withdrawal): Record<string, unknown> {
    return {
      hash: withdrawal.transactionHash,
      currency: deal.currency,
      createdDate: webhookDate(deal.createdAt),
      idempotencyKey: deal.idempotencyKey,
      parentExternalId: Number(deal.id),
      ...(withdrawal.externalId !== undefined ? { externalId: withdrawal.externalId } : {}),
    };
  }

  private emit(deal: Deal, type: string, level: EventLevel, data: Record<string, unknown>): void {
    this.deps.webhooks.emit(deal.account, type, level, data);
  }

  private currency(deal: Deal): Currency {
    return this.deps.currencies.require(deal.currency);
  }

  /** False for a deal forgotten by a reset whose scheduled work still runs. */
  private isCurrent(deal: Deal): boolean {
    return this.deps.store.deals.get(deal.id) === deal;
  }
}

function levelOf(state: PayoutState): EventLevel {
  if (state === 'COMPLETED') return 'SUCCESS';
  if (state === 'FAILED' || state === 'PARTIAL' || state === 'CANCELED') return 'WARNING';
  return 'INFO';
}
