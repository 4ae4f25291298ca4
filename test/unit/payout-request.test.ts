import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CurrencyRegistry } from '../../shared/domain/currencies.js';
import {
  canonicalRequest,
  validatePayoutRequest,
  type FieldError,
} from '../../shared/domain/payout-request.js';

const limits = {
  currencies: new CurrencyRegistry(),
  maxRecipients: 5,
  now: new Date('2030-01-01T00:00:00Z'),
  executionDateHorizonDays: 90,
};
const ETH = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const ETH2 = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359';
const BTC = '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa';

function errorsOf(body: unknown): FieldError[] {
  const result = validatePayoutRequest(body, limits);
  if (result.ok) throw new Error('expected validation errors');
  return result.errors;
}

function paths(body: unknown): string[] {
  return errorsOf(body).map((e) => e.path);
}

const valid = {
  currency: 'USDT',
  name: 'March affiliates',
  recipients: [
    { address: ETH, amount: '10.50', externalId: 'a-1' },
    { address: ETH2, amount: '0.000001' },
  ],
};

describe('validatePayoutRequest', () => {
  it('accepts a valid request and keeps amounts exact', () => {
    const result = validatePayoutRequest(valid, limits);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.currency.code).toBe('USDT');
    expect(result.value.recipients.map((r) => r.amount.toString())).toEqual(['10.50', '0.000001']);
    expect(result.value.recipients[0]?.externalId).toBe('a-1');
  });

  it('names the field of each kind of mistake', () => {
    expect(paths({ ...valid, currency: 'DOGE2' })).toEqual(['$.currency']);
    expect(errorsOf({ ...valid, currency: 'DOGE2' })[0]?.message).toMatch(
      /not a supported currency/,
    );
    expect(paths({ ...valid, name: '' })).toEqual(['$.name']);
    expect(paths({ ...valid, name: 'x'.repeat(201) })).toEqual(['$.name']);
    expect(paths({ ...valid, extra: 1 })).toEqual(['$.extra']);
    expect(paths({ ...valid, recipients: [] })).toEqual(['$.recipients']);
    expect(paths({ ...valid, recipients: Array(6).fill(valid.recipients[0]) })).toEqual([
      '$.recipients',
    ]);
    expect(paths({ currency: 'USDT', recipients: valid.recipients })).toEqual(['$.name']);
  });

  it('checks each recipient: amount, address for the currency network, duplicates, unknown fields', () => {
    const errors = errorsOf({
      currency: 'USDT',
      name: 'x',
      recipients: [
        { address: ETH, amount: '0', externalId: 'dup' },
        { address: BTC, amount: '1.1234567' },
        { address: ETH2, amount: 5 },
        { address: ETH.toLowerCase(), amount: '1e3', externalId: 'dup' },
        { address: ETH, amount: '1', memo: 'x' },
      ],
    });
    const byPath = Object.fromEntries(errors.map((e) => [e.path, e.message]));
    expect(byPath['$.recipients[0].amount']).toMatch(/greater than 0/);
    expect(byPath['$.recipients[1].address']).toMatch(/Ethereum/);
    expect(byPath['$.recipients[1].amount']).toMatch(/at most 6/);
    expect(byPath['$.recipients[2].amount']).toMatch(/string/);
    expect(byPath['$.recipients[3].amount']).toMatch(/exponent/);
    expect(byPath['$.recipients[3].externalId']).toMatch(/recipients\[0\]/);
    expect(byPath['$.recipients[4].memo']).toMatch(/not a known field/);
    expect(errors).toHaveLength(7);
  });

  it("refuses an amount above the currency's maximum per recipient, naming it", () => {
    const eighty = '9'.repeat(80);
    const errors = errorsOf({
      ...valid,
      recipients: [
        { address: ETH, amount: '100000000' },
        { address: ETH2, amount: eighty },
        { address: ETH, amount: '100000000.000001' },
      ],
    });
    expect(errors).toEqual([
      { path: '$.recipients[1].amount', message: 'must be at most 100000000 USDT per recipient' },
      { path: '$.recipients[2].amount', message: 'must be at most 100000000 USDT per recipient' },
    ]);
    const btc = { currency: 'BTC', name: 'x', recipients: [{ address: BTC, amount: '10000.5' }] };
    expect(errorsOf(btc)[0]?.message).toBe('must be at most 10000 BTC per recipient');
    const lower = {
      ...limits,
      currencies: CurrencyRegistry.withOverrides({ BTC: { maxAmount: '1' } }),
    };
    const refused = validatePayoutRequest(
      { ...btc, recipients: [{ address: BTC, amount: '1.00000001' }] },
      lower,
    );
    expect(refused.ok).toBe(false);
    expect(
      validatePayoutRequest({ ...btc, recipients: [{ address: BTC, amount: '1' }] }, lower).ok,
    ).toBe(true);
  });

  it('refuses an absurdly long amount even when the currency is unknown', () => {
    const errors = errorsOf({
      ...valid,
      currency: 'NOPE',
      recipients: [{ address: ETH, amount: '9'.repeat(80) }],
    });
    expect(errors.map((e) => e.path)).toEqual(['$.currency', '$.recipients[0].amount']);
    expect(errors[1]?.message).toMatch(/more than 30 digits before the decimal point/);
  });

  it('rejects a corrupted EIP-55 checksum but accepts the lowercase form', () => {
    const corrupted = ETH.replace('aA', 'Aa');
    expect(paths({ ...valid, recipients: [{ address: corrupted, amount: '1' }] })).toEqual([
      '$.recipients[0].address',
    ]);
    expect(
      validatePayoutRequest(
        { ...valid, recipients: [{ address: ETH.toLowerCase(), amount: '1' }] },
        limits,
      ).ok,
    ).toBe(true);
  });

  it('requires a future ISO-8601 executionDate with a zone and normalises it to UTC', () => {
    expect(paths({ ...valid, executionDate: '2029-12-31T23:59:59Z' })).toEqual(['$.executionDate']);
    expect(errorsOf({ ...valid, executionDate: '2029-12-31T23:59:59Z' })[0]?.message).toMatch(
      /past/,
    );
    expect(paths({ ...valid, executionDate: '2030-02-01 10:00' })).toEqual(['$.executionDate']);
    expect(paths({ ...valid, executionDate: '2030-02-01T10:00:00' })).toEqual(['$.executionDate']);
    const ok = validatePayoutRequest(
      { ...valid, executionDate: '2030-02-01T12:00:00+02:00' },
      limits,
    );
    expect(ok.ok && ok.value.executionDate).toBe('2030-02-01T10:00:00.000Z');
  });

  it.each([
    '2030-02-30T10:00:00Z',
    '2030-02-29T10:00:00Z',
    '2030-04-31T10:00:00Z',
    '2030-01-32T10:00:00Z',
    '2030-01-00T10:00:00Z',
    '2030-13-01T10:00:00Z',
    '2030-00-10T10:00:00Z',
    '2030-01-10T24:00:00Z',
    '2030-01-10T24:00Z',
    '2030-01-10T23:60Z',
    '2030-01-10T23:59:60Z',
    '2030-01-10T10:00+24:00',
    '2030-01-10T10:00-05:60',
  ])('refuses the impossible executionDate %s instead of rolling it over', (executionDate) => {
    const errors = errorsOf({ ...valid, executionDate });
    expect(errors).toEqual([
      {
        path: '$.executionDate',
        message: 'must be a real ISO-8601 date-time with a time zone, e.g. 2030-01-31T12:00:00Z',
      },
    ]);
  });

  it('accepts the calendar edges the impossible dates sit next to', () => {
    const at = (executionDate: string, now = limits.now) => {
      const result = validatePayoutRequest({ ...valid, executionDate }, { ...limits, now });
      return result.ok ? result.value.executionDate : result.errors;
    };
    expect(at('2030-02-28T23:59:59Z')).toBe('2030-02-28T23:59:59.000Z');
    expect(at('2030-01-31T00:00Z')).toBe('2030-01-31T00:00:00.000Z');
    expect(at('2030-01-10T23:59:59.999Z')).toBe('2030-01-10T23:59:59.999Z');
    expect(at('2030-01-10T10:00-05:59')).toBe('2030-01-10T15:59:00.000Z');
    const leapYear = new Date('2032-01-01T00:00:00Z');
    expect(at('2032-02-29T12:00:00Z', leapYear)).toBe('2032-02-29T12:00:00.000Z');
  });

  it('refuses an executionDate beyond the horizon, saying the horizon', () => {
    // limits.now is 2030-01-01T00:00Z; 90 days later is 2030-04-01T00:00Z.
    expect(
      validatePayoutRequest({ ...valid, executionDate: '2030-04-01T00:00:00Z' }, limits).ok,
    ).toBe(true);
    expect(errorsOf({ ...valid, executionDate: '2030-04-01T00:00:01Z' })).toEqual([
      {
        path: '$.executionDate',
        message: 'is more than 90 days ahead (after 2030-04-01T00:00:00.000Z)',
      },
    ]);
    const week = { ...limits, executionDateHorizonDays: 7 };
    const far = validatePayoutRequest({ ...valid, executionDate: '2030-01-09T00:00:00Z' }, week);
    expect(far.ok ? [] : far.errors.map((e) => e.message)).toEqual([
      'is more than 7 days ahead (after 2030-01-08T00:00:00.000Z)',
    ]);
    expect(
      validatePayoutRequest({ ...valid, executionDate: '2030-01-08T00:00:00Z' }, week).ok,
    ).toBe(true);
  });

  it('reports recipient problems even when a top-level field is also wrong', () => {
    expect(
      paths({ currency: 'USDT', name: '', recipients: [{ address: ETH, amount: '-1' }] }).sort(),
    ).toEqual(['$.name', '$.recipients[0].amount']);
  });

  it('says which type a mistyped field should have, and keeps "is required" for absent ones', () => {
    expect(
      errorsOf({ currency: 5, name: 7, comment: false, executionDate: 1, recipients: {} }),
    ).toEqual([
      { path: '$.currency', message: 'must be a string, got number' },
      { path: '$.name', message: 'must be a string, got number' },
      { path: '$.comment', message: 'must be a string, got boolean' },
      { path: '$.executionDate', message: 'must be a string, got number' },
      { path: '$.recipients', message: 'must be an array, got object' },
    ]);
    expect(errorsOf({ currency: 'USDT', name: null, recipients: 'abc' })).toEqual([
      { path: '$.name', message: 'must be a string, got null' },
      { path: '$.recipients', message: 'must be an array, got string' },
    ]);
    expect(errorsOf({ name: 'x' })).toEqual([
      { path: '$.currency', message: 'is required' },
      { path: '$.recipients', message: 'is required' },
    ]);
  });

  it('says which type each mistyped recipient field should have', () => {
    expect(
      errorsOf({
        ...valid,
        recipients: [5, null, [ETH], { address: 5, amount: 1, externalId: 3 }, {}],
      }),
    ).toEqual([
      { path: '$.recipients[0]', message: 'must be an object, got number' },
      { path: '$.recipients[1]', message: 'must be an object, got null' },
      { path: '$.recipients[2]', message: 'must be an object, got array' },
      { path: '$.recipients[3].address', message: 'must be a string, got number' },
      { path: '$.recipients[3].externalId', message: 'must be a string, got number' },
      {
        path: '$.recipients[3].amount',
        message: 'must be a decimal string such as "10.50", got number',
      },
      { path: '$.recipients[4].address', message: 'is required' },
      { path: '$.recipients[4].amount', message: 'is required' },
    ]);
  });

  it.each([
    ['NUL', '\u0000', 'a control character', '0000'],
    ['a tab', '\t', 'a control character', '0009'],
    ['a line feed', '\n', 'a control character', '000A'],
    ['ESC', '\u001b', 'a control character', '001B'],
    ['DEL', '\u007f', 'a control character', '007F'],
    ['a C1 control', '\u0085', 'a control character', '0085'],
    ['the last C1 control', '\u009f', 'a control character', '009F'],
    ['a left-to-right embedding', '\u202a', 'a bidirectional override or isolate', '202A'],
    ['a right-to-left override', '\u202e', 'a bidirectional override or isolate', '202E'],
    ['a left-to-right isolate', '\u2066', 'a bidirectional override or isolate', '2066'],
    ['a pop directional isolate', '\u2069', 'a bidirectional override or isolate', '2069'],
    ['a lone high surrogate', '\ud83d', 'a lone surrogate', 'D83D'],
    ['a lone low surrogate', '\ude00', 'a lone surrogate', 'DE00'],
  ])('refuses %s in name, comment and externalId, naming each field', (_, char, kind, hex) => {
    const text = `ab${char}c`;
    const message = `must not contain ${kind} (U+${hex} at character 3)`;
    expect(
      errorsOf({
        ...valid,
        name: text,
        comment: text,
        recipients: [{ ...valid.recipients[0], externalId: text }],
      }),
    ).toEqual([
      { path: '$.name', message },
      { path: '$.comment', message },
      { path: '$.recipients[0].externalId', message },
    ]);
  });

  it('keeps the characters next to the refused ranges, and whole emoji', () => {
    const text = 'Zahlung für März \u00a0 \u200f \u2065 \u206a ~ \ud83d\ude00 日本';
    const result = validatePayoutRequest(
      {
        ...valid,
        name: text,
        comment: text,
        recipients: [{ ...valid.recipients[0], externalId: text }],
      },
      limits,
    );
    expect(result.ok && [result.value.name, result.value.comment]).toEqual([text, text]);
    expect(result.ok && result.value.recipients[0]?.externalId).toBe(text);
  });

  it('counts the position of an unsafe character in characters, not UTF-16 units', () => {
    expect(errorsOf({ ...valid, name: '\ud83d\ude00\u202e' })[0]?.message).toBe(
      'must not contain a bidirectional override or isolate (U+202E at character 2)',
    );
  });

  it('refuses non-objects', () => {
    for (const body of [null, [], 'x', 1]) expect(paths(body)).toEqual(['$']);
  });

  it('never throws and always names a path, whatever the body', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        const result = validatePayoutRequest(body, limits);
        if (!result.ok) {
          expect(result.errors.length).toBeGreaterThan(0);
          for (const e of result.errors) expect(e.path.startsWith('$')).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('canonicalRequest', () => {
  it('is equal for numerically equal amounts and differs for any real change', () => {
    const a = validatePayoutRequest(valid, limits);
    const b = validatePayoutRequest(
      { ...valid, recipients: [{ ...valid.recipients[0], amount: '10.5' }, valid.recipients[1]] },
      limits,
    );
    const c = validatePayoutRequest({ ...valid, name: 'other' }, limits);
    if (!a.ok || !b.ok || !c.ok) throw new Error('expected valid');
    expect(canonicalRequest(a.value)).toBe(canonicalRequest(b.value));
    expect(canonicalRequest(a.value)).not.toBe(canonicalRequest(c.value));
  });
});
