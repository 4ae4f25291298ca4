/**
 * validation: `validatePayoutRequest` over a parsed body of many recipients (addresses with their
 * checksums, amounts against the currency's decimals, duplicate externalIds), against
 * `JSON.parse` of the same body's text as the baseline.
 */
import { CurrencyRegistry } from '../../shared/domain/currencies.js';
import { validatePayoutRequest } from '../../shared/domain/payout-request.js';
import type { BenchOptions } from '../options.js';
import {
  btcAddress,
  evmChecksummed,
  evmLowercase,
  payoutBody,
  recipients,
  tronAddress,
} from '../recipients.js';
import type { Figure } from '../report.js';
import type { BenchContext } from '../stack.js';
import { count, median, ms, pairedRatio, rate, ratio, timeSyncMs } from '../stats.js';

interface Case {
  label: string;
  currency: string;
  address: (i: number) => string;
  decimals: number;
}

const CASES: Case[] = [
  {
    label: 'USDT (Ethereum), EIP-55 mixed-case',
    currency: 'USDT',
    address: (i) => evmChecksummed(`v-${i}`),
    decimals: 6,
  },
  {
    label: 'USDT (Ethereum), lowercase (no checksum)',
    currency: 'USDT',
    address: (i) => evmLowercase(`v-${i}`),
    decimals: 6,
  },
  {
    label: 'BTC, P2PKH / P2SH / bech32',
    currency: 'BTC',
    address: btcAddress,
    decimals: 8,
  },
  { label: 'USDT_TRX (Tron)', currency: 'USDT_TRX', address: tronAddress, decimals: 6 },
];

/** Milliseconds per call of `work`, repeating it for at least `minMs`. */
function perCall(work: () => unknown, minMs: number): number {
  let calls = 0;
  let total = 0;
  while (total < minMs || calls < 2) {
    total += timeSyncMs(work);
    calls++;
  }
  return total / calls;
}

export interface ValidationResult {
  label: string;
  recipients: number;
  validateMs: number;
  parseMs: number;
  ratio: number;
}

export async function runValidation(
  ctx: BenchContext,
  options: BenchOptions['validation'],
): Promise<{ figure: Figure; results: ValidationResult[] }> {
  const currencies = new CurrencyRegistry();
  const n = options.recipients;
  const results: ValidationResult[] = [];
  for (const c of CASES) {
    ctx.progress(`validation: ${c.label}, ${count(n)} recipients`);
    const text = JSON.stringify(payoutBody(c.currency, recipients(n, c.address, c.decimals)));
    const parsed: unknown = JSON.parse(text);
    const limits = { currencies, maxRecipients: n, now: new Date(), executionDateHorizonDays: 90 };
    const check = validatePayoutRequest(parsed, limits);
    if (!check.ok) {
      throw new Error(`the ${c.label} body is not valid: ${JSON.stringify(check.errors[0])}`);
    }
    // Warm both paths up before measuring.
    perCall(() => validatePayoutRequest(parsed, limits), options.minRunMs);
    perCall(() => JSON.parse(text), options.minRunMs);
    const validate: number[] = [];
    const parse: number[] = [];
    for (let run = 0; run < options.runs; run++) {
      validate.push(perCall(() => validatePayoutRequest(parsed, limits), options.minRunMs));
      parse.push(perCall(() => JSON.parse(text), options.minRunMs));
      // Let the progress line and any timers through between runs.
      await new Promise((resolve) => setImmediate(resolve));
    }
    results.push({
      label: c.label,
      recipients: n,
      validateMs: median(validate),
      parseMs: median(parse),
      ratio: pairedRatio(validate, parse),
    });
  }
  const figure: Figure = {
    id: 'validation',
    title: 'Validation',
    method: [
      `\`validatePayoutRequest\` (shared/domain/payout-request.ts) over an already parsed body of ${count(n)} recipients, each with an address, a decimal-string amount and a distinct externalId, in-process. The baseline is \`JSON.parse\` of the same body's text: the work every request does anyway. Each run repeats the call for at least ${options.minRunMs} ms and takes the mean; ${options.runs} runs per case, validation and parse back to back.`,
    ],
    tables: [
      {
        headers: [
          'addresses',
          'validate (median)',
          'recipients / s',
          'JSON.parse (median)',
          'ratio to JSON.parse',
        ],
        rows: results.map((r) => [
          r.label,
          ms(r.validateMs),
          rate((r.recipients / r.validateMs) * 1000),
          ms(r.parseMs),
          ratio(r.ratio),
        ]),
      },
    ],
    notes: [],
  };
  return { figure, results };
}
