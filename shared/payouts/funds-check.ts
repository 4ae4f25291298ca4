/**
 * The funds check's inputs: its settings, the balances read once per run, and the fee estimate
 * (shared/domain/funds.ts holds the arithmetic).
 */
import type { Account } from '../calypso/schemas.js';
import type { CurrencyRegistry } from '../domain/currencies.js';
import { FundsLedger, type FeeEstimate } from '../domain/funds.js';
import { Decimal } from '../domain/money.js';
import type { ControlStore } from '../store/controls-store.js';

/** The funds check before sending; absent, batches go without one. */
export interface FundsSettings {
  currencies: CurrencyRegistry;
  /** A batch waiting longer than this ends UNFUNDED. */
  waitMaxMs: number;
  /** Calypso's fee percentage until one is seen for the currency and kind (decimal text). */
  defaultFeePercent: string;
  /** Percent added on top of the fee estimate (decimal text). */
  marginPercent: string;
  /** How soon a waiting batch is checked again. */
  recheckMs: number;
}

/**
 * The account's balances read once (on first need) for one submission run or reconciler tick,
 * and spent as its batches are let through: two batches never count the same funds.
 */
export class BalanceSnapshot {
  private ledger: Promise<FundsLedger> | undefined;
  /** Fee estimates by currency and kind: one read each per run, not one per batch. */
  private readonly fees = new Map<string, Promise<FeeEstimate>>();

  constructor(private readonly read: () => Promise<Account>) {}

  get(): Promise<FundsLedger> {
    this.ledger ??= this.read().then(
      (account) => new FundsLedger(account.balances.map((b) => [b.currency, b.amount] as const)),
    );
    return this.ledger;
  }

  fee(
    deps: { repository: Pick<ControlStore, 'getFeeSeen'> },
    funds: Pick<FundsSettings, 'defaultFeePercent' | 'marginPercent'>,
    currency: string,
    kind: 'mass' | 'single',
  ): Promise<FeeEstimate> {
    const key = `${currency}#${kind}`;
    let fee = this.fees.get(key);
    if (!fee) this.fees.set(key, (fee = feeEstimate(deps, funds, currency, kind)));
    return fee;
  }
}

/** The fee estimate for a batch: the last percentage Calypso showed on a comparable payout. */
export async function feeEstimate(
  deps: { repository: Pick<ControlStore, 'getFeeSeen'> },
  funds: Pick<FundsSettings, 'defaultFeePercent' | 'marginPercent'>,
  currency: string,
  kind: 'mass' | 'single',
): Promise<FeeEstimate> {
  const seen = await deps.repository.getFeeSeen(currency, kind);
  const percentage = seen !== undefined ? Decimal.tryParse(seen) : undefined;
  return {
    percentage: percentage ?? Decimal.parse(funds.defaultFeePercent),
    source: percentage ? 'observed' : 'default',
    marginPercent: Decimal.parse(funds.marginPercent),
  };
}
