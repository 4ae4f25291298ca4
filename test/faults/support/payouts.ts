/** Request bodies for the fault scenarios: valid, and unique per scenario so payments never overlap. */
import { btcAddress } from '../../support/recipients.js';

export interface Recipient {
  address: string;
  amount: string;
  externalId?: string;
}

export interface PayoutBody {
  currency: string;
  name: string;
  recipients: Recipient[];
}

/**
 * A BTC payout of `count` recipients, amounts varying in the last digits so a sum that loses or
 * doubles one shows; addresses derived from `tag`, so two scenarios never pay the same address.
 */
export function btcPayout(tag: string, count: number, options: { externalIds?: boolean } = {}) {
  return {
    currency: 'BTC',
    name: tag,
    recipients: Array.from({ length: count }, (_, i) => ({
      address: btcAddress(`${tag}-${i}`),
      amount: `0.${String(1000 + i * 7).padStart(8, '0')}`,
      ...(options.externalIds === false ? {} : { externalId: `${tag}-${i}` }),
    })),
  } satisfies PayoutBody;
}
