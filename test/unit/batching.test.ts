import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BATCH_KEY_NAMESPACE,
  batchIdempotencyKey,
  planBatches,
  type RecipientInput,
} from '../../shared/domain/batching.js';
import { CurrencyRegistry } from '../../shared/domain/currencies.js';
import { uuidV5 } from '../../shared/domain/ids.js';
import { Decimal } from '../../shared/domain/money.js';

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const NAMESPACE_DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const NAMESPACE_URL = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';
const NAMESPACE_OID = '6ba7b812-9dad-11d1-80b4-00c04fd430c8';

const PAYOUT_ID = '3f1c9a2e-8b7d-4e6f-9a1b-2c3d4e5f6a7b';
const currencies = new CurrencyRegistry();

/** `count` recipients; recipient i pays (i + 1) millionths, so every amount differs. */
function recipients(count: number): RecipientInput[] {
  return Array.from({ length: count }, (_, i) => ({
    address: `addr-${i}`,
    amount: Decimal.fromUnits(BigInt(i + 1), 6),
    externalId: `ext-${i}`,
  }));
}

describe('uuidV5', () => {
  it.each([
    // RFC 9562 appendix A.4.
    ['www.example.com', NAMESPACE_DNS, '2ed6657d-e927-568b-95e1-2665a8aea6a2'],
    // Python's uuid module documentation: uuid5(NAMESPACE_DNS, 'python.org').
    ['python.org', NAMESPACE_DNS, '886313e1-3b8a-5372-9b90-0c9aee199e5d'],
    // Computed with Python's uuid.uuid5: non-ASCII names are hashed as UTF-8.
    ['https://example.com/zürich/€', NAMESPACE_URL, 'a2ed94d8-e628-57be-ad45-5a833ab555e5'],
    ['', NAMESPACE_OID, '0a68eb57-c88a-5f34-9e9d-27f85e68af4f'],
  ])('of %j in %s is %s', (name, namespace, expected) => {
    expect(uuidV5(name, namespace)).toBe(expected);
  });

  it('reads the namespace case-insensitively and writes lowercase', () => {
    expect(uuidV5('www.example.com', NAMESPACE_DNS.toUpperCase())).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it.each(['', 'not-a-uuid', '6ba7b8109dad11d180b400c04fd430c8', `${NAMESPACE_DNS}0`])(
    'refuses the namespace %j',
    (namespace) => {
      expect(() => uuidV5('x', namespace)).toThrow(TypeError);
    },
  );

  it('always has version 5 and the RFC variant (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 64 }), fc.uuid(), (name, ns) => {
        expect(uuidV5(name, ns)).toMatch(UUID_V5);
      }),
      { numRuns: 200 },
    );
  });
});

describe('batchIdempotencyKey', () => {
  it('is the UUID v5 of "<payout id>:<batch index>" in the batch namespace', () => {
    expect(batchIdempotencyKey(PAYOUT_ID, 2)).toBe(uuidV5(`${PAYOUT_ID}:2`, BATCH_KEY_NAMESPACE));
  });

  it('never changes for a stored payout (a new key would let a batch be paid twice)', () => {
    // Computed with Python's uuid.uuid5 in the namespace bdfa4cd7-966e-4ed9-9526-45f238bced2e.
    expect(BATCH_KEY_NAMESPACE).toBe('bdfa4cd7-966e-4ed9-9526-45f238bced2e');
    expect([0, 1, 2].map((i) => batchIdempotencyKey(PAYOUT_ID, i))).toEqual([
      '38792ffa-8cf4-593d-8e6d-e18f763b8c25',
      '54271ad3-ad6b-5ccc-a486-0928e7eb9188',
      '5a60bcb0-fe9f-5751-b999-71d72ebc9903',
    ]);
  });

  it('differs across batch indexes and payout ids', () => {
    const keys = new Set<string>();
    const payoutIds = [PAYOUT_ID, randomUUID(), randomUUID(), '1', '11'];
    for (const payoutId of payoutIds) {
      for (let index = 0; index < 20; index++) keys.add(batchIdempotencyKey(payoutId, index));
    }
    expect(keys.size).toBe(payoutIds.length * 20);
    // "1" + batch 11 and "11" + batch 1 must not collide: the separator keeps them apart.
    expect(batchIdempotencyKey('1', 11)).not.toBe(batchIdempotencyKey('11', 1));
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses the index %s', (index) => {
    expect(() => batchIdempotencyKey(PAYOUT_ID, index)).toThrow(RangeError);
  });

  it('refuses an empty payout id', () => {
    expect(() => batchIdempotencyKey('', 0)).toThrow(/payout id/);
  });
});

describe('planBatches', () => {
  it('splits 2,500 USDT recipients into 1000/1000/500, in request order', () => {
    const input = recipients(2500);
    const plan = planBatches(PAYOUT_ID, input, currencies.require('USDT'));

    expect(plan.recipientCount).toBe(2500);
    expect(plan.batches.map((b) => b.index)).toEqual([0, 1, 2]);
    expect(plan.batches.map((b) => b.recipients.length)).toEqual([1000, 1000, 500]);
    expect(plan.batches.map((b) => b.recipients[0]?.address)).toEqual([
      'addr-0',
      'addr-1000',
      'addr-2000',
    ]);
    expect(plan.batches.map((b) => b.recipients.at(-1)?.index)).toEqual([999, 1999, 2499]);
    const flat = plan.batches.flatMap((b) => b.recipients);
    flat.forEach((r, i) => {
      expect(r.index).toBe(i);
      expect(r.address).toBe(`addr-${i}`);
      expect(r.externalId).toBe(`ext-${i}`);
    });
  });

  it('splits 250 BTC recipients into 100/100/50', () => {
    const plan = planBatches(PAYOUT_ID, recipients(250), currencies.require('BTC'));
    expect(plan.batches.map((b) => b.recipients.length)).toEqual([100, 100, 50]);
    expect(plan.batches[2]?.recipients[0]?.index).toBe(200);
  });

  it('makes one batch when the recipients fit, including exactly at the limit', () => {
    expect(planBatches(PAYOUT_ID, recipients(1), { massPayoutLimit: 100 }).batches).toHaveLength(1);
    expect(planBatches(PAYOUT_ID, recipients(100), { massPayoutLimit: 100 }).batches).toHaveLength(
      1,
    );
    expect(planBatches(PAYOUT_ID, recipients(101), { massPayoutLimit: 100 }).batches).toHaveLength(
      2,
    );
  });

  it('sends at most singlePayoutMax recipients as one single payout each, more as mass payouts', () => {
    const three = planBatches(PAYOUT_ID, recipients(3), { massPayoutLimit: 100 }, 5);
    expect(three.batches.map((b) => [b.kind, b.recipients.map((r) => r.index)])).toEqual([
      ['single', [0]],
      ['single', [1]],
      ['single', [2]],
    ]);
    expect(three.batches.map((b) => b.idempotencyKey)).toEqual(
      [0, 1, 2].map((i) => batchIdempotencyKey(PAYOUT_ID, i)),
    );
    expect(three.total.equals(Decimal.sum(recipients(3).map((r) => r.amount)))).toBe(true);
    expect(planBatches(PAYOUT_ID, recipients(5), { massPayoutLimit: 100 }, 5).batches).toHaveLength(
      5,
    );
    const six = planBatches(PAYOUT_ID, recipients(6), { massPayoutLimit: 100 }, 5);
    expect(six.batches.map((b) => [b.kind, b.recipients.length])).toEqual([['mass', 6]]);
    // 0 turns single payouts off.
    const off = planBatches(PAYOUT_ID, recipients(1), { massPayoutLimit: 100 }, 0);
    expect(off.batches.map((b) => b.kind)).toEqual(['mass']);
    expect(() => planBatches(PAYOUT_ID, recipients(1), { massPayoutLimit: 100 }, -1)).toThrow(
      RangeError,
    );
  });

  it('totals each batch and the payout exactly', () => {
    const input = recipients(2500);
    const plan = planBatches(PAYOUT_ID, input, { massPayoutLimit: 1000 });
    // Sums of 1..1000, 1001..2000 and 2001..2500 millionths.
    expect(plan.batches.map((b) => b.total.toString())).toEqual([
      '0.500500',
      '1.500500',
      '1.125250',
    ]);
    expect(plan.total.toString()).toBe('3.126250');
    expect(plan.total.equals(Decimal.sum(plan.batches.map((b) => b.total)))).toBe(true);
    expect(plan.total.equals(Decimal.sum(input.map((r) => r.amount)))).toBe(true);
  });

  it('adds amounts of mixed scales without float error', () => {
    const input: RecipientInput[] = [
      { address: 'a', amount: Decimal.parse('0.1') },
      { address: 'b', amount: Decimal.parse('0.2') },
      { address: 'c', amount: Decimal.parse('123456789.123456789012345678') },
      { address: 'd', amount: Decimal.parse('0.000000000000000001') },
    ];
    const plan = planBatches(PAYOUT_ID, input, { massPayoutLimit: 2 });
    expect(plan.batches.map((b) => b.total.toString())).toEqual([
      '0.3',
      '123456789.123456789012345679',
    ]);
    expect(plan.total.toString()).toBe('123456789.423456789012345679');
  });

  it('gives each batch its own key: deterministic, distinct and UUID v5', () => {
    const input = recipients(250);
    const first = planBatches(PAYOUT_ID, input, { massPayoutLimit: 100 });
    const second = planBatches(PAYOUT_ID, recipients(250), { massPayoutLimit: 100 });
    expect(second).toEqual(first);

    const keys = first.batches.map((b) => b.idempotencyKey);
    for (const key of keys) expect(key).toMatch(UUID_V5);
    expect(new Set(keys).size).toBe(3);
    expect(keys).toEqual(first.batches.map((b) => batchIdempotencyKey(PAYOUT_ID, b.index)));

    const other = planBatches(randomUUID(), input, { massPayoutLimit: 100 });
    for (const key of other.batches.map((b) => b.idempotencyKey)) {
      expect(keys).not.toContain(key);
    }
  });

  it('copies only the recipient fields and leaves the input untouched', () => {
    const input = Object.freeze([
      Object.freeze({ address: 'a', amount: Decimal.parse('1'), note: 'not ours' }),
      Object.freeze({ address: 'b', amount: Decimal.parse('2'), externalId: 'x-2' }),
    ]);
    const plan = planBatches(PAYOUT_ID, input, { massPayoutLimit: 1 });
    expect(plan.batches[0]?.recipients).toStrictEqual([
      { address: 'a', amount: input[0]!.amount, index: 0 },
    ]);
    expect(plan.batches[1]?.recipients).toStrictEqual([
      { address: 'b', amount: input[1]!.amount, externalId: 'x-2', index: 1 },
    ]);
    expect(input[0]).not.toHaveProperty('index');
  });

  it('refuses a payout with no recipients', () => {
    expect(() => planBatches(PAYOUT_ID, [], { massPayoutLimit: 100 })).toThrow(
      /at least one recipient/,
    );
  });

  it.each([0, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses the limit %s', (limit) => {
    expect(() => planBatches(PAYOUT_ID, recipients(3), { massPayoutLimit: limit })).toThrow(
      RangeError,
    );
  });

  it('concatenated batches give back the input, none over the limit (property)', () => {
    const recipient = fc.record(
      {
        address: fc.string({ minLength: 1, maxLength: 12 }),
        amount: fc
          .tuple(fc.bigInt({ min: 1n, max: 10n ** 30n }), fc.integer({ min: 0, max: 18 }))
          .map(([units, scale]) => Decimal.fromUnits(units, scale)),
        externalId: fc.string({ maxLength: 8 }),
      },
      { requiredKeys: ['address', 'amount'] },
    );
    fc.assert(
      fc.property(
        fc.array(recipient, { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 120 }),
        fc.uuid(),
        (input, limit, payoutId) => {
          const plan = planBatches(payoutId, input, { massPayoutLimit: limit });

          expect(plan.recipientCount).toBe(input.length);
          expect(plan.batches).toHaveLength(Math.ceil(input.length / limit));
          plan.batches.forEach((batch, i) => {
            expect(batch.index).toBe(i);
            expect(batch.recipients.length).toBeGreaterThan(0);
            expect(batch.recipients.length).toBeLessThanOrEqual(limit);
            if (i < plan.batches.length - 1) expect(batch.recipients).toHaveLength(limit);
            expect(batch.total.equals(Decimal.sum(batch.recipients.map((r) => r.amount)))).toBe(
              true,
            );
            expect(batch.idempotencyKey).toBe(batchIdempotencyKey(payoutId, i));
          });

          const flat = plan.batches.flatMap((b) => b.recipients);
          expect(flat.map(({ index, ...rest }) => [index, rest])).toStrictEqual(
            input.map((r, i) => [i, { ...r }]),
          );
          expect(plan.total.equals(Decimal.sum(input.map((r) => r.amount)))).toBe(true);
          expect(plan.total.equals(Decimal.sum(plan.batches.map((b) => b.total)))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
