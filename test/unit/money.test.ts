import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAmount, Decimal, DecimalFormatError } from '../../shared/domain/money.js';
import { plainDecimalText } from '../support/arbitraries.js';

const d = (text: string) => Decimal.parse(text);

const decimalText = plainDecimalText(35);
const decimal = fc
  .tuple(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), fc.integer({ min: 0, max: 30 }))
  .map(([units, scale]) => Decimal.fromUnits(units, scale));

describe('Decimal.parse', () => {
  it.each([
    ['0', 0n, 0],
    ['7', 7n, 0],
    ['-7', -7n, 0],
    ['10.50', 1050n, 2],
    ['0.00000001', 1n, 8],
    ['-0.5', -5n, 1],
    ['1000000', 1000000n, 0],
    ['0.000', 0n, 3],
  ])('accepts the plain decimal %s', (text, units, scale) => {
    const value = d(text);
    expect(value.units).toBe(units);
    expect(value.scale).toBe(scale);
    expect(value.toString()).toBe(text);
  });

  it.each([
    ['1e5', /exponent/],
    ['1E-3', /exponent/],
    ['2.5e+3', /exponent/],
    ['+1', /plus sign/],
    [' 1', /surrounding spaces/],
    ['1 ', /surrounding spaces/],
    ['1\n', /surrounding spaces/],
    ['1,5', /comma/],
    ['1,000.00', /comma/],
    ['.5', /both sides of the dot/],
    ['-.5', /both sides of the dot/],
    ['5.', /both sides of the dot/],
    ['', /empty/],
    ['   ', /empty/],
    ['abc', /not a plain decimal/],
    ['0x10', /not a plain decimal/],
    ['Infinity', /not a plain decimal/],
    ['-Infinity', /not a plain decimal/],
    ['NaN', /not a plain decimal/],
    ['1.2.3', /not a plain decimal/],
    ['--1', /not a plain decimal/],
    ['１', /not a plain decimal/],
    ['01', /leading zeros/],
    ['007.5', /leading zeros/],
    ['-00.5', /leading zeros/],
    ['-0', /negative zero/],
    ['-0.00', /negative zero/],
  ])('rejects %j, saying why', (text, reason) => {
    let caught: unknown;
    try {
      Decimal.parse(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DecimalFormatError);
    const error = caught as DecimalFormatError;
    expect(error.text).toBe(text);
    expect(error.reason).toMatch(reason);
    expect(Decimal.tryParse(text)).toBeUndefined();
  });

  it('reads values far longer than any amount (fees, balances), up to a bound on the work', () => {
    const eighty = `-${'9'.repeat(40)}.${'9'.repeat(40)}`;
    expect(Decimal.parse(eighty).toString()).toBe(eighty);
    const fee = `0.${'0'.repeat(29)}1`;
    expect(Decimal.parse(fee).scale).toBe(30);
    const longest = `${'9'.repeat(500)}.${'9'.repeat(500)}`;
    expect(Decimal.parse(longest).toString()).toBe(longest);
    expect(() => Decimal.parse(`${longest}9`)).toThrow(/too many digits/);
    expect(() => Decimal.parse(`1${'0'.repeat(1000)}`)).toThrow(/too many digits/);
    expect(() => Decimal.parse('1'.repeat(100_000))).toThrow(/too many digits/);
  });

  it('rejects what is not a string at run time', () => {
    expect(() => Decimal.parse(10 as unknown as string)).toThrow(DecimalFormatError);
  });

  it('keeps 27 significant digits byte for byte, where a float keeps about 17', () => {
    const text = '123456789.123456789012345678';
    const value = d(text);
    expect(value.toString()).toBe(text);
    expect(JSON.stringify({ amount: value })).toBe(`{"amount":"${text}"}`);
    expect(value.toBaseUnits(18)).toBe(123456789123456789012345678n);
    expect(String(Number(text))).not.toBe(text);
  });

  it('round-trips any valid decimal text exactly (property)', () => {
    fc.assert(
      fc.property(decimalText, (text) => {
        expect(Decimal.parse(text).toString()).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips any units and scale 0..30 through text (property)', () => {
    fc.assert(
      fc.property(decimal, (value) => {
        const text = value.toString();
        const back = Decimal.parse(text);
        expect(back.toString()).toBe(text);
        expect(back.units).toBe(value.units);
        expect(back.scale).toBe(value.scale);
      }),
      { numRuns: 500 },
    );
  });
});

describe('Decimal.fromUnits', () => {
  it('places the point by the scale', () => {
    expect(Decimal.fromUnits(150n, 2).toString()).toBe('1.50');
    expect(Decimal.fromUnits(5n, 3).toString()).toBe('0.005');
    expect(Decimal.fromUnits(-5n, 3).toString()).toBe('-0.005');
    expect(Decimal.fromUnits(42n, 0).toString()).toBe('42');
  });

  it.each([-1, 1.5, Number.NaN])('refuses the scale %s', (scale) => {
    expect(() => Decimal.fromUnits(1n, scale)).toThrow(RangeError);
  });
});

describe('checkAmount', () => {
  it('accepts a positive decimal string within the allowed decimals', () => {
    const result = checkAmount('10.50', 6);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.toString()).toBe('10.50');
    expect(checkAmount('0.000001', 6).ok).toBe(true);
    expect(checkAmount('123456789.123456789012345678', 18).ok).toBe(true);
  });

  it.each(['0', '0.00', '-1', '-0.000001'])('rejects %j as not greater than zero', (input) => {
    expect(checkAmount(input, 6)).toEqual({
      ok: false,
      problem: 'not-positive',
      message: 'must be greater than 0',
    });
  });

  it('rejects more decimals than the currency allows, trailing zeros included', () => {
    expect(checkAmount('0.0000001', 6)).toMatchObject({
      ok: false,
      problem: 'too-many-decimals',
    });
    const trailing = checkAmount('1.10', 1);
    expect(trailing).toMatchObject({ ok: false, problem: 'too-many-decimals' });
    if (!trailing.ok) expect(trailing.message).toMatch(/has 2 decimals.*at most 1/);
    expect(checkAmount('1.1', 1).ok).toBe(true);
    expect(checkAmount('5', 0).ok).toBe(true);
    expect(checkAmount('5.0', 0)).toMatchObject({ ok: false, problem: 'too-many-decimals' });
  });

  it('tells a caller who sent a JSON number to send a string', () => {
    const result = checkAmount(10.5, 6);
    expect(result).toMatchObject({ ok: false, problem: 'not-a-string' });
    if (!result.ok) expect(result.message).toMatch(/must be a decimal string.*, got number$/);
  });

  it.each([
    [null, 'null'],
    [undefined, 'undefined'],
    [true, 'boolean'],
    [{}, 'object'],
    [['1'], 'array'],
  ])('rejects the non-string %j, naming its type', (input, type) => {
    const result = checkAmount(input, 6);
    expect(result).toMatchObject({ ok: false, problem: 'not-a-string' });
    if (!result.ok) expect(result.message).toMatch(new RegExp(`decimal string.*, got ${type}$`));
  });

  it('refuses more than 30 digits before the point unread, naming the maximum when given', () => {
    expect(checkAmount('9'.repeat(30), 0).ok).toBe(true);
    expect(checkAmount(`${'9'.repeat(30)}.5`, 1).ok).toBe(true);
    expect(checkAmount('9'.repeat(31), 0)).toEqual({
      ok: false,
      problem: 'too-large',
      message: 'has more than 30 digits before the decimal point',
    });
    const max = { value: Decimal.parse('10000'), currency: 'BTC' };
    for (const huge of ['9'.repeat(80), `${'1'.repeat(80)}.5`, `1${'0'.repeat(100_000)}`]) {
      expect(checkAmount(huge, 8, max)).toEqual({
        ok: false,
        problem: 'too-large',
        message: 'must be at most 10000 BTC per recipient',
      });
    }
  });

  it('refuses an amount above the maximum and accepts it exactly at the maximum', () => {
    const max = { value: Decimal.parse('10000'), currency: 'BTC' };
    expect(checkAmount('10000', 8, max).ok).toBe(true);
    expect(checkAmount('10000.00000000', 8, max).ok).toBe(true);
    expect(checkAmount('10000.00000001', 8, max)).toEqual({
      ok: false,
      problem: 'too-large',
      message: 'must be at most 10000 BTC per recipient',
    });
    expect(checkAmount('10001', 8, max)).toMatchObject({ ok: false, problem: 'too-large' });
    expect(checkAmount('10001', 8).ok).toBe(true);
  });

  it.each([
    ['1e5', /exponent/],
    ['1,5', /comma/],
    [' 1', /spaces/],
  ])('passes the format reason for %j through', (input, reason) => {
    const result = checkAmount(input, 6);
    expect(result).toMatchObject({ ok: false, problem: 'format' });
    if (!result.ok) expect(result.message).toMatch(reason);
  });
});

describe('exact arithmetic', () => {
  it('adds 0.1 and 0.2 to exactly 0.3 (0.1 + 0.2 in floats is 0.30000000000000004)', () => {
    const sum = d('0.1').add(d('0.2'));
    expect(sum.toString()).toBe('0.3');
    expect(sum.equals(d('0.3'))).toBe(true);
  });

  it('sums many small amounts without drift', () => {
    expect(Decimal.sum(Array.from({ length: 10 }, () => d('0.1'))).toString()).toBe('1.0');
    const wei = Array.from({ length: 1000 }, () => d('0.000000000000000001'));
    expect(Decimal.sum(wei).toString()).toBe('0.000000000000001000');
    expect(Decimal.sum([d('9007199254740993'), d('0.000001')]).toString()).toBe(
      '9007199254740993.000001',
    );
  });

  it('sums nothing to zero and keeps the largest scale of the terms', () => {
    expect(Decimal.sum([]).toString()).toBe('0');
    expect(Decimal.sum([d('1'), d('2.50'), d('0.125')]).toString()).toBe('3.625');
    expect(Decimal.sum([d('1.5'), d('1.50')]).toString()).toBe('3.00');
  });

  it('subtracts and multiplies by a count exactly', () => {
    expect(d('1.00').sub(d('0.01')).toString()).toBe('0.99');
    expect(d('0.3').sub(d('0.1')).toString()).toBe('0.2');
    expect(d('0.1').sub(d('0.25')).toString()).toBe('-0.15');
    expect(d('0.1').times(3n).toString()).toBe('0.3');
    expect(d('0.000001').times(2500n).toString()).toBe('0.002500');
  });

  it('sum equals the bigint sum at the common scale, in any order (property)', () => {
    const valuesAndShuffle = fc
      .array(decimal, { maxLength: 30 })
      .chain((values) =>
        fc.tuple(
          fc.constant(values),
          fc.shuffledSubarray(values, { minLength: values.length, maxLength: values.length }),
        ),
      );
    fc.assert(
      fc.property(valuesAndShuffle, ([values, shuffled]) => {
        const total = Decimal.sum(values);
        const scale = Math.max(0, ...values.map((v) => v.scale));
        const expected = values.reduce(
          (acc, v) => acc + v.units * 10n ** BigInt(scale - v.scale),
          0n,
        );
        expect(total.scale).toBe(scale);
        expect(total.units).toBe(expected);
        expect(Decimal.sum(shuffled).toString()).toBe(total.toString());
      }),
      { numRuns: 300 },
    );
  });

  it('add is commutative and associative (property)', () => {
    fc.assert(
      fc.property(decimal, decimal, decimal, (a, b, c) => {
        expect(a.add(b).toString()).toBe(b.add(a).toString());
        expect(a.add(b).add(c).toString()).toBe(a.add(b.add(c)).toString());
        expect(Decimal.sum([a, b, c]).toString()).toBe(a.add(b).add(c).toString());
      }),
      { numRuns: 300 },
    );
  });

  it('a + b - b equals a (property)', () => {
    fc.assert(
      fc.property(decimal, decimal, (a, b) => {
        const back = a.add(b).sub(b);
        expect(back.equals(a)).toBe(true);
        expect(back.compare(a)).toBe(0);
        expect(back.scale).toBe(Math.max(a.scale, b.scale));
      }),
      { numRuns: 300 },
    );
  });
});

describe('compare and equals', () => {
  it.each([
    ['1.5', '1.50', 0],
    ['1.49', '1.5', -1],
    ['10', '9.999', 1],
    ['-1', '-0.5', -1],
    ['-0.5', '-1', 1],
    ['0', '0.000', 0],
    ['0.000000000000000001', '0', 1],
    ['100000000000000000000.1', '100000000000000000000.09', 1],
  ] as const)('compare(%s, %s) is %i across scales', (a, b, expected) => {
    expect(d(a).compare(d(b))).toBe(expected);
    expect(d(b).compare(d(a))).toBe(-expected || 0);
    expect(d(a).equals(d(b))).toBe(expected === 0);
  });

  it('agrees with the sign predicates', () => {
    expect(d('0.001').isPositive()).toBe(true);
    expect(d('0.000').isPositive()).toBe(false);
    expect(d('0.000').isZero()).toBe(true);
    expect(d('-0.001').isNegative()).toBe(true);
    expect(d('-0.001').isZero()).toBe(false);
  });
});

describe('scale changes', () => {
  it('counts the decimals a value needs and drops only trailing zeros', () => {
    expect(d('1.500').significantScale()).toBe(1);
    expect(d('2.00').significantScale()).toBe(0);
    expect(d('0.010').significantScale()).toBe(2);
    expect(d('-1.500').significantScale()).toBe(1);
    expect(d('1.500').normalize().toString()).toBe('1.5');
    expect(d('2.00').normalize().toString()).toBe('2');
    expect(d('-3.10').normalize().toString()).toBe('-3.1');
    expect(d('0.000').normalize().toString()).toBe('0');
    expect(d('100').normalize().toString()).toBe('100');
  });

  it('rescales up by padding and down only through zeros', () => {
    expect(d('1.5').rescale(4).toString()).toBe('1.5000');
    expect(d('1.5000').rescale(1).toString()).toBe('1.5');
    expect(d('-1.50').rescale(1).toString()).toBe('-1.5');
    expect(d('7').rescale(2).toString()).toBe('7.00');
    expect(d('7.00').rescale(0).toString()).toBe('7');
  });

  it('refuses to drop a non-zero digit instead of rounding', () => {
    expect(() => d('1.55').rescale(1)).toThrow(RangeError);
    expect(() => d('0.000000001').rescale(8)).toThrow(/more than 8 decimals/);
    expect(() => d('-0.05').rescale(1)).toThrow(RangeError);
  });

  it('converts to integer base units exactly', () => {
    expect(d('1').toBaseUnits(8)).toBe(100_000_000n);
    expect(d('0.00000001').toBaseUnits(8)).toBe(1n);
    expect(d('21000000.00000000').toBaseUnits(8)).toBe(2_100_000_000_000_000n);
    expect(d('1.5').toBaseUnits(18)).toBe(1_500_000_000_000_000_000n);
    expect(d('10.50').toBaseUnits(6)).toBe(10_500_000n);
    expect(d('0.1').toBaseUnits(6)).toBe(100_000n);
    expect(() => d('0.000000001').toBaseUnits(8)).toThrow(RangeError);
    expect(() => d('1.0000001').toBaseUnits(6)).toThrow(RangeError);
  });

  it('base units round-trip for any value that fits the scale (property)', () => {
    fc.assert(
      fc.property(decimal, fc.integer({ min: 0, max: 30 }), (value, extra) => {
        const decimals = value.scale + extra;
        const base = value.toBaseUnits(decimals);
        expect(Decimal.fromUnits(base, decimals).equals(value)).toBe(true);
        expect(base).toBe(value.units * 10n ** BigInt(extra));
      }),
      { numRuns: 300 },
    );
  });
});
