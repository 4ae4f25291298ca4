/**
 * How a payout moves once Calypso accepted it, on the sandbox clock:
 *
 *   created                      payout CREATION_IN_PROGRESS, no withdrawals yet
 *   + withdrawalsCreatedAfterMs  withdrawals exist, DRAFT; payout CONFIRMED   (PAYOUT_CONFIRMED)
 *                                (held for approval: PENDING_CONFIRMATION, no event, until
 *                                confirmed in the UI, then CONFIRMED; or cancelled: CANCELED)
 *   + inProgressAfterMs          (not before executionDate) payout IN_PROGRESS (PAYOUT_CHANGE_STATUS)
 *                                each withdrawal whose amount + fee the balance covers is debited
 *                                and sent: IN_PROGRESS with a transaction hash (PAYOUT_HASH_RECEIVED);
 *                                the others stay DRAFT with an unresolved NOT_ENOUGH_FUNDS error
 *                                (PAYOUT_VALIDATION_ERROR) until a top-up covers them, which marks
 *                                the error resolved and sends them; a token payment also needs a
 *                                positive balance of its network's fee coin
 *                                (NOT_ENOUGH_FUNDS_FOR_COMMISSION until topped up); one over the
 *                                limit stays DRAFT with EXCEEDING_LIMIT until allowed in the UI
 *   + completedAfterMs           each sent withdrawal ends COMPLETED, or FAILED for a failing
 *                                address (no hash, funds returned)             (PAYOUT_CHANGE_STATUS)
 *                                or REPLACED, with a replacement (new id; same deal, address,
 *                                amount, externalId) IN_PROGRESS that settles in its turn
 *   all withdrawals final        the payout's state by the guide's rule        (PAYOUT_CHANGE_STATUS)
 *
 * A payout not sent yet (no withdrawal left DRAFT) can be cancelled in the UI: its withdrawals
 * and itself end CANCELED (PAYOUT_CHANGE_STATUS).
 *
 * A single payout is a deal with one withdrawal (and its replacements); its own state follows the
 * latest of them.
 */
import type { Currency, CurrencyRegistry } from '../../../shared/domain/currencies.js';
import { Decimal } from '../../../shared/domain/money.js';
import type { Scheduler, SandboxClock } from './clock.js';
import { SandboxUsageError } from './errors.js';
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
  type WithdrawalErrorStatus,
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
  /** Every new payout waits in PENDING_CONFIRMATION until confirmed in the UI. */
  confirmationRequired: boolean;
}

/** Payout states in which nothing has been sent yet, so the UI may still cancel it. */
const CANCELABLE: ReadonlySet<PayoutState> = new Set([
  'CREATION_IN_PROGRESS',
  'PENDING_CONFIRMATION',
  'CONFIRMED',
  'IN_PROGRESS',
]);

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

  /**
   * A balance went up: send whatever waited for funds in that currency (or, for tokens, for
   * their network's fee coin), oldest first.
   */
  fundsAdded(account: string, currency: string): void {
    for (const deal of this.deps.store.deals.values()) {
      if (deal.account !== account || deal.state !== 'IN_PROGRESS') continue;
      const dealCurrency = this.currency(deal);
      const feeCoin = dealCurrency.token && dealCurrency.feeCoin === currency;
      if (deal.currency !== currency && !feeCoin) continue;
      for (const withdrawal of deal.withdrawals) {
        if (withdrawal.state === 'DRAFT') this.send(deal, withdrawal);
      }
    }
  }

  private createWithdrawals(deal: Deal): void {
    if (!this.isCurrent(deal) || deal.state !== 'CREATION_IN_PROGRESS') return;
    const { ids, clock, store } = this.deps;
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
      limitHeld: false,
    }));
    // What the faults make of each payment is settled as it is created, in creation order.
    for (const withdrawal of deal.withdrawals) {
      const plan = this.deps.faults.takeForSend(withdrawal.depositAddress);
      withdrawal.limitHeld = plan.exceedsLimit;
      if (plan.replacement) withdrawal.replacement = plan.replacement;
    }
    store.withdrawals.push(...deal.withdrawals);
    const plan = this.deps.faults.takeForPayout();
    const held = this.deps.confirmationRequired || plan.holdForConfirmation;
    // Held for approval: Calypso documents no event for this state, only a lookup shows it.
    this.setDealState(deal, held ? 'PENDING_CONFIRMATION' : 'CONFIRMED');
    if (plan.cancel) this.cancelDeal(deal);
    else if (!held) this.scheduleStart(deal);
  }

  private scheduleStart(deal: Deal): void {
    const { clock, scheduler, timings } = this.deps;
    const startAt = Math.max(clock.after(timings.inProgressAfterMs), deal.executionDate ?? 0);
    scheduler.at(startAt, `start ${deal.id}`, () => this.start(deal));
  }

  /** Confirms a payout held in PENDING_CONFIRMATION, as an approver does in Calypso's UI. */
  confirm(dealId: string): void {
    const deal = this.requireDeal(dealId);
    if (deal.state !== 'PENDING_CONFIRMATION') {
      throw new SandboxUsageError(`payout ${dealId} is ${deal.state}, not PENDING_CONFIRMATION`);
    }
    this.setDealState(deal, 'CONFIRMED');
    this.scheduleStart(deal);
  }

  /** Cancels a payout in Calypso's UI; only while nothing of it has been sent. */
  cancel(dealId: string): void {
    const deal = this.requireDeal(dealId);
    if (!CANCELABLE.has(deal.state) || deal.withdrawals.some((w) => w.state !== 'DRAFT')) {
      throw new SandboxUsageError(`payout ${dealId} is ${deal.state} and has sent payments`);
    }
    this.cancelDeal(deal);
  }

  /**
   * Allows a payment held at EXCEEDING_LIMIT (as an admin does in Calypso's UI): the error is
   * marked resolved and the payment is sent, funds permitting.
   */
  allowOverLimit(withdrawalId: string): void {
    const withdrawal = this.deps.store.withdrawals.find((w) => w.id === withdrawalId);
    if (!withdrawal || !withdrawal.limitHeld || withdrawal.state !== 'DRAFT') {
      throw new SandboxUsageError(`no withdrawal ${withdrawalId} held at its limit`);
    }
    withdrawal.limitHeld = false;
    for (const error of withdrawal.errors) {
      if (error.status === 'EXCEEDING_LIMIT') error.errorResolved = true;
    }
    const deal = this.requireDeal(withdrawal.dealId);
    if (deal.state === 'IN_PROGRESS') this.send(deal, withdrawal);
  }

  private cancelDeal(deal: Deal): void {
    for (const withdrawal of deal.withdrawals) withdrawal.state = 'CANCELED';
    this.setDealState(deal, 'CANCELED');
  }

  private requireDeal(dealId: string): Deal {
    const deal = this.deps.store.deals.get(dealId);
    if (!deal) throw new SandboxUsageError(`no payout ${dealId}`);
    return deal;
  }

  private start(deal: Deal): void {
    if (!this.isCurrent(deal) || deal.state !== 'CONFIRMED') return;
    this.setDealState(deal, 'IN_PROGRESS');
    for (const withdrawal of deal.withdrawals) this.send(deal, withdrawal);
  }

  /**
   * Debits amount + fee and sends the payment, or records why it cannot go: over the limit, or
   * short of funds (for a token, also of its network's fee coin).
   */
  private send(deal: Deal, withdrawal: Withdrawal): void {
    const { store, faults } = this.deps;
    if (withdrawal.state !== 'DRAFT') return;
    if (withdrawal.limitHeld) {
      this.raiseError(
        deal,
        withdrawal,
        'EXCEEDING_LIMIT',
        `Withdrawal amount ${withdrawal.amount.toString()} ${deal.currency} exceeds the limit; it waits for confirmation`,
      );
      return;
    }
    const balance = store.balance(deal.account, deal.currency);
    const cost = withdrawal.amount.add(withdrawal.calypsoFee);
    if (balance.compare(cost) < 0) {
      this.raiseFundsError(deal, withdrawal, balance);
      return;
    }
    const currency = this.currency(deal);
    if (currency.token) {
      const feeBalance = store.balance(deal.account, currency.feeCoin);
      if (!feeBalance.isPositive()) {
        this.raiseError(
          deal,
          withdrawal,
          'NOT_ENOUGH_FUNDS_FOR_COMMISSION',
          `Not enough funds for the network fee: a ${deal.currency} payment needs ${currency.feeCoin}, balance ${feeBalance.normalize().toString()} ${currency.feeCoin}`,
        );
        return;
      }
    }
    store.setBalance(deal.account, deal.currency, balance.sub(cost));
    for (const error of withdrawal.errors) error.errorResolved = true;
    withdrawal.state = 'IN_PROGRESS';
    // A payment to be replaced is broadcast (it has a hash); how it ends is its replacement's.
    withdrawal.willFail =
      !withdrawal.replacement && faults.isFailingAddress(withdrawal.depositAddress);
    this.dispatch(deal, withdrawal);
  }

  /** A payment now IN_PROGRESS: its hash (unless it will fail) and its settlement scheduled. */
  private dispatch(deal: Deal, withdrawal: Withdrawal): void {
    const { ids, scheduler, timings } = this.deps;
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
    const status =
      balance.compare(withdrawal.amount) >= 0
        ? 'NOT_ENOUGH_FUNDS_FOR_COMMISSION'
        : 'NOT_ENOUGH_FUNDS';
    this.raiseError(
      deal,
      withdrawal,
      status,
      status === 'NOT_ENOUGH_FUNDS'
        ? `Not enough funds: ${withdrawal.amount.toString()} ${deal.currency} needed, balance ${balance.normalize().toString()}`
        : `Not enough funds for commission: ${withdrawal.amount.add(withdrawal.calypsoFee).toString()} ${deal.currency} needed, balance ${balance.normalize().toString()}`,
    );
  }

  /**
   * Records why a payment waits (once per reason) and sends PAYOUT_VALIDATION_ERROR. A different
   * reason than the one on record means the old one went away: it is marked resolved.
   */
  private raiseError(
    deal: Deal,
    withdrawal: Withdrawal,
    status: WithdrawalErrorStatus,
    message: string,
  ): void {
    const open = withdrawal.errors.filter((e) => !e.errorResolved);
    if (open.some((e) => e.status === status)) return; // already reported
    for (const e of open) e.errorResolved = true;
    const error: WithdrawalError = {
      id: this.deps.ids.withdrawalErrorId(),
      status,
      errorResolved: false,
      errorMessage: message,
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
    if (withdrawal.replacement) {
      this.replace(deal, withdrawal, withdrawal.replacement);
      return;
    }
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

  /**
   * The payment ends REPLACED (terminal) and a replacement takes its place: a new withdrawal of
   * the same deal, address, amount and externalId, IN_PROGRESS with a hash of its own, at once or
   * `afterMs` later. The amount debited for the first goes with the replacement (debited once).
   * Until the replacement exists the guide's rule sees only terminal payments and may already
   * call the payout final.
   */
  private replace(deal: Deal, withdrawal: Withdrawal, how: { afterMs: number; fails: boolean }) {
    withdrawal.state = 'REPLACED';
    if (deal.kind === 'mass') {
      this.emit(deal, 'PAYOUT_CHANGE_STATUS', 'INFO', {
        ...this.withdrawalEventFields(deal, withdrawal),
        payoutStatus: 'REPLACED',
      });
    }
    const create = () => {
      if (!this.isCurrent(deal)) return;
      const replacement: Withdrawal = {
        id: this.deps.ids.uuid(),
        dealId: deal.id,
        account: deal.account,
        currency: deal.currency,
        amount: withdrawal.amount,
        calypsoFee: withdrawal.calypsoFee,
        depositAddress: withdrawal.depositAddress,
        ...(withdrawal.externalId !== undefined ? { externalId: withdrawal.externalId } : {}),
        ...(withdrawal.comment !== undefined ? { comment: withdrawal.comment } : {}),
        state: 'IN_PROGRESS',
        transactionHash: null,
        createdAt: this.deps.clock.now(),
        errors: [],
        willFail: how.fails || this.deps.faults.isFailingAddress(withdrawal.depositAddress),
        limitHeld: false,
        replaces: withdrawal.id,
      };
      deal.withdrawals.push(replacement);
      this.deps.store.withdrawals.push(replacement);
      this.dispatch(deal, replacement);
    };
    if (how.afterMs > 0) this.deps.scheduler.after(how.afterMs, `replace ${withdrawal.id}`, create);
    else create();
    if (deal.kind === 'mass') {
      const final = aggregatePayoutState(
        deal.withdrawals.map((w) => w.state),
        this.deps.mixedOutcomeState,
      );
      if (final) this.setDealState(deal, final);
    }
  }

  private setDealState(deal: Deal, state: PayoutState): void {
    if (deal.state === state) return;
    deal.state = state;
    // Calypso documents no event for a payout held for confirmation.
    if (state === 'PENDING_CONFIRMATION') return;
    // A single payout's events speak of its one payment (the latest, if it was replaced).
    const single = deal.kind === 'single' ? deal.withdrawals.at(-1) : undefined;
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
