/**
 * The currencies Calypso pays out in: network, maximum scale, per-mass-payout limit, the coin
 * that pays the network's fees, and the most one recipient may be paid. Defaults follow calypso-api.md §6; every field can be overridden
 * (and currencies added) from configuration, because they differ between Calypso environments.
 */
import * as z from 'zod/mini';
import { AMOUNT_MAX_INTEGER_DIGITS, Decimal } from './money.js';

export const NETWORKS = ['bitcoin', 'ethereum', 'tron', 'bsc', 'polygon', 'dogecoin'] as const;
export type Network = (typeof NETWORKS)[number];

export interface Currency {
  /** Calypso's currency code, e.g. `USDT_TRX`. */
  code: string;
  network: Network;
  /** Maximum digits after the decimal point (the asset's on-chain decimals). */
  decimals: number;
  /** Most recipients in one Calypso mass payout. */
  massPayoutLimit: number;
  /** The network's native coin, which pays network fees for token transfers. */
  feeCoin: string;
  /** A token on its network rather than the native coin. */
  token: boolean;
  /**
   * The most one recipient may be paid in one payout: a typo's extra digits stop here. Generous,
   * as it guards against mistakes, not against spending.
   */
  maxAmount: Decimal;
  /**
   * What one payment is expected to cost the network, in `feeCoin`: the funds check keeps this
   * much of the fee coin per payment on top of the amounts (a token payout needs the native coin
   * for gas). A generous estimate, not a quote: Calypso's own check still runs after ours.
   */
  networkFee: Decimal;
}

/** The native coin of each network. */
export const FEE_COIN: Readonly<Record<Network, string>> = {
  bitcoin: 'BTC',
  ethereum: 'ETH',
  tron: 'TRX',
  bsc: 'BNB',
  polygon: 'MATIC',
  dogecoin: 'XDG',
};

/** Calypso's documented limit: 1000 for ETH and ERC-20 tokens, 100 for everything else. */
function defaultLimit(network: Network): number {
  return network === 'ethereum' ? 1000 : 100;
}

/**
 * The most one recipient may be paid, by default: a few orders of magnitude above any payment
 * a company makes, in the coin's own units (a bitcoin is worth far more than a dogecoin).
 */
const DEFAULT_MAX_AMOUNT: Readonly<Record<string, string>> = {
  BTC: '10000',
  ETH: '1000000',
  BNB: '1000000',
  TRX: '1000000000',
  MATIC: '1000000000',
  XDG: '1000000000',
};
/** Tokens (stablecoins by default) and currencies added by configuration without a maximum. */
const DEFAULT_TOKEN_MAX_AMOUNT = '100000000';

/**
 * The network fee one payment is expected to cost, in the network's native coin: a native
 * transfer and a token transfer (which burns more gas or energy). Generous on purpose; a
 * stage whose fees differ sets `networkFee` per currency.
 */
const DEFAULT_NETWORK_FEE: Readonly<Record<Network, { native: string; token: string }>> = {
  bitcoin: { native: '0.0005', token: '0.0005' },
  ethereum: { native: '0.002', token: '0.006' },
  tron: { native: '2', token: '40' },
  bsc: { native: '0.0005', token: '0.001' },
  polygon: { native: '0.05', token: '0.1' },
  dogecoin: { native: '2', token: '2' },
};

function currency(code: string, network: Network, decimals: number): Currency {
  const feeCoin = FEE_COIN[network];
  const token = code !== feeCoin;
  return {
    code,
    network,
    decimals,
    massPayoutLimit: defaultLimit(network),
    feeCoin,
    token,
    maxAmount: Decimal.parse((!token && DEFAULT_MAX_AMOUNT[code]) || DEFAULT_TOKEN_MAX_AMOUNT),
    networkFee: Decimal.parse(DEFAULT_NETWORK_FEE[network][token ? 'token' : 'native']),
  };
}

export const DEFAULT_CURRENCIES: readonly Currency[] = Object.freeze([
  currency('BTC', 'bitcoin', 8),
  currency('ETH', 'ethereum', 18),
  currency('USDT', 'ethereum', 6),
  currency('FRAX', 'ethereum', 18),
  currency('BUSD_ETH', 'ethereum', 18),
  currency('USDC', 'ethereum', 6),
  currency('DAI', 'ethereum', 18),
  currency('TRX', 'tron', 6),
  currency('USDT_TRX', 'tron', 6),
  currency('BNB', 'bsc', 18),
  currency('BUSD', 'bsc', 18),
  currency('MATIC', 'polygon', 18),
  currency('USDT_MATIC', 'polygon', 6),
  currency('XDG', 'dogecoin', 8),
]);

const currencyCode = z.string().check(z.regex(/^[A-Z0-9_]{2,20}$/));
/** A decimal string, like every amount: `"5000"`, `"0.5"`. */
const decimalText = z
  .string()
  .check(
    z.regex(
      new RegExp(`^(0|[1-9][0-9]{0,${AMOUNT_MAX_INTEGER_DIGITS - 1}})(\\.[0-9]{1,30})?$`),
      `must be a decimal string with at most ${AMOUNT_MAX_INTEGER_DIGITS} digits before the point`,
    ),
  );
const overrideSchema = z.strictObject({
  network: z.optional(z.enum(NETWORKS)),
  decimals: z.optional(z.int().check(z.minimum(0), z.maximum(30))),
  massPayoutLimit: z.optional(z.int().check(z.minimum(1), z.maximum(100_000))),
  feeCoin: z.optional(currencyCode),
  token: z.optional(z.boolean()),
  /** A decimal string, like every amount: `"5000"`, `"0.5"`. */
  maxAmount: z.optional(
    decimalText.check(
      z.refine((text) => Decimal.tryParse(text)?.isPositive() === true, 'must be greater than 0'),
    ),
  ),
  /** Fee coin per payment, a decimal string (`"0"` for none). */
  networkFee: z.optional(decimalText),
});
export const currencyOverridesSchema = z.record(currencyCode, overrideSchema);
export type CurrencyOverrides = z.infer<typeof currencyOverridesSchema>;

export class UnknownCurrencyError extends Error {
  constructor(readonly code: string) {
    super(`unknown currency ${JSON.stringify(code)}`);
    this.name = 'UnknownCurrencyError';
  }
}

export class CurrencyRegistry {
  private readonly byCode: ReadonlyMap<string, Currency>;

  constructor(currencies: Iterable<Currency> = DEFAULT_CURRENCIES) {
    this.byCode = new Map([...currencies].map((c) => [c.code, Object.freeze({ ...c })]));
  }

  /**
   * The defaults with `overrides` applied. An override of a known code changes only the fields
   * it names; a new code must name at least its network and decimals.
   */
  static withOverrides(overrides: CurrencyOverrides = {}): CurrencyRegistry {
    const merged = new Map(DEFAULT_CURRENCIES.map((c) => [c.code, { ...c }]));
    for (const [code, override] of Object.entries(currencyOverridesSchema.parse(overrides))) {
      const base = merged.get(code);
      if (base) {
        const network = override.network ?? base.network;
        const feeCoin = override.feeCoin ?? (override.network ? FEE_COIN[network] : base.feeCoin);
        merged.set(code, { ...base, ...fields(override), network, feeCoin });
        continue;
      }
      if (!override.network || override.decimals === undefined) {
        throw new Error(
          `currency ${code} is not built in: its override must give network and decimals`,
        );
      }
      const added = currency(code, override.network, override.decimals);
      merged.set(code, { ...added, ...fields(override) });
    }
    return new CurrencyRegistry(merged.values());
  }

  get(code: string): Currency | undefined {
    return this.byCode.get(code);
  }

  require(code: string): Currency {
    const found = this.byCode.get(code);
    if (!found) throw new UnknownCurrencyError(code);
    return found;
  }

  codes(): string[] {
    return [...this.byCode.keys()];
  }

  all(): Currency[] {
    return [...this.byCode.values()];
  }
}

/** The fields an override sets, as Currency fields. */
function fields(override: CurrencyOverrides[string]): Partial<Currency> {
  const { maxAmount, networkFee, ...rest } = override;
  return {
    ...stripUndefined(rest),
    ...(maxAmount !== undefined ? { maxAmount: Decimal.parse(maxAmount) } : {}),
    ...(networkFee !== undefined ? { networkFee: Decimal.parse(networkFee) } : {}),
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
