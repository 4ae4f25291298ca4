/**
 * The funds check, before anything is sent: what a batch will take from the account (its amounts,
 * Calypso's fee on them, and the network's fee in the fee coin) against what the account holds.
 * Pure and exact: amounts are Decimals, the fee estimate is rounded up, never down.
 *
 * The estimate is not a quote. Calypso's fee percentage is the last one it reported for a
 * comparable payout (same currency, same kind), or a configured default, with a configured
 * margin on top; the network fee per payment comes from the currency registry. Balances also
 * move between our check and Calypso's own, which stays the last word (NOT_ENOUGH_FUNDS).
 */
import type { Currency } from './currencies.js';
import { Decimal } from './money.js';

/** How much of one coin a batch needs, and how much of it is missing. */
export interface CoinNeed {
  currency: string;
  /** Amounts plus estimated fees, in this coin. */
  needed: Decimal;
}

export interface Shortfall {
  currency: string;
  needed: Decimal;
  available: Decimal;
  missing: Decimal;
}

export interface FeeEstimate {
  /** Calypso's fee, percent of each payment, before the margin. */
  percentage: Decimal;
  /** Where the percentage comes from: Calypso's last comparable payout, or the default. */
  source: 'observed' | 'default';
  /** Percent added on top of the fee (25: the fee counts 1.25 times). */
  marginPercent: Decimal;
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/**
 * Calypso's fee on one payment with the margin, rounded up to the currency's decimals:
 * `amount × percentage/100 × (1 + margin/100)`.
 */
export function estimatedFee(amount: Decimal, fee: FeeEstimate, decimals: number): Decimal {
  const { percentage: p, marginPercent: m } = fee;
  const base = amount.normalize();
  // amount = a/10^as, p = pu/10^ps, (100 + m) = (100·10^ms + mu)/10^ms; fee = amount·p·(100+m)/10^4
  const numerator = base.units * p.units * (100n * pow10(m.scale) + m.units) * pow10(decimals);
  const denominator = pow10(base.scale + p.scale + m.scale) * 10_000n;
  const units = (numerator + denominator - 1n) / denominator; // rounded up
  return Decimal.fromUnits(units, decimals).normalize();
}

/**
 * What a batch of these payments needs, per coin: the currency's amounts and estimated Calypso
 * fees, and the network fee of every payment in the fee coin (the same coin for a native one).
 */
export function batchNeeds(
  currency: Pick<Currency, 'code' | 'decimals' | 'feeCoin' | 'networkFee'>,
  amounts: readonly Decimal[],
  fee: FeeEstimate,
): CoinNeed[] {
  const spent = Decimal.sum(amounts.map((a) => a.add(estimatedFee(a, fee, currency.decimals))));
  const network = currency.networkFee.times(BigInt(amounts.length));
  if (currency.feeCoin === currency.code) {
    return [{ currency: currency.code, needed: spent.add(network).normalize() }];
  }
  const needs = [{ currency: currency.code, needed: spent.normalize() }];
  if (network.isPositive()) needs.push({ currency: currency.feeCoin, needed: network.normalize() });
  return needs;
}

/** The coins whose balance does not cover what is needed. */
export function shortfalls(
  needs: readonly CoinNeed[],
  balances: ReadonlyMap<string, Decimal>,
): Shortfall[] {
  const short: Shortfall[] = [];
  for (const { currency, needed } of needs) {
    const available = balances.get(currency) ?? Decimal.ZERO;
    if (available.compare(needed) < 0) {
      short.push({ currency, needed, available, missing: needed.sub(available).normalize() });
    }
  }
  return short;
}

/**
 * Balances read once and spent as batches are let through, so that two batches checked
 * against one reading never count the same funds twice.
 */
export class FundsLedger {
  private readonly left: Map<string, Decimal>;

  constructor(balances: Iterable<readonly [string, Decimal]>) {
    this.left = new Map(balances);
  }

  /** Takes the needs from what is left if every coin covers them; else the shortfalls. */
  reserve(needs: readonly CoinNeed[]): Shortfall[] {
    const short = shortfalls(needs, this.left);
    if (short.length > 0) return short;
    for (const { currency, needed } of needs) {
      this.left.set(currency, (this.left.get(currency) ?? Decimal.ZERO).sub(needed));
    }
    return [];
  }

  /** Gives back what a reservation took (the batch did not go after all). */
  release(needs: readonly CoinNeed[]): void {
    for (const { currency, needed } of needs) {
      this.left.set(currency, (this.left.get(currency) ?? Decimal.ZERO).add(needed));
    }
  }
}
