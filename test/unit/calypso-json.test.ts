import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  JsonNumberText,
  parseJsonLossless,
  stringifyForCalypso,
} from '../../shared/calypso/json.js';
import { Decimal } from '../../shared/domain/money.js';
import { plainDecimalText } from '../support/arbitraries.js';

const d = (text: string) => Decimal.parse(text);

const decimalText = plainDecimalText(30);

describe('parseJsonLossless', () => {
  it('keeps every number as its exact source text', () => {
    expect(
      parseJsonLossless(
        '{"amount":123456789.123456789012345678,"fee":0.000000000000000001,"n":10.50,"big":123456789012345678901234567890,"e":1E-18,"neg":-0.1,"list":[1,2.0]}',
      ),
    ).toEqual({
      amount: '123456789.123456789012345678',
      fee: '0.000000000000000001',
      n: '10.50',
      big: '123456789012345678901234567890',
      e: '1E-18',
      neg: '-0.1',
      list: ['1', '2.0'],
    });
  });

  it('leaves strings, booleans and null as JSON.parse does', () => {
    const text = '{"s":"10.5","t":true,"f":false,"z":null,"o":{"a":[]},"u":"\\u00e9\\n"}';
    expect(parseJsonLossless(text)).toEqual(JSON.parse(text));
  });

  it('keeps the last value of a duplicated key, as JSON.parse does', () => {
    expect(parseJsonLossless('{"state":"IN_PROGRESS","state":"COMPLETED"}')).toEqual({
      state: 'COMPLETED',
    });
  });

  it('throws a SyntaxError on text that is not JSON', () => {
    expect(() => parseJsonLossless('{"a":')).toThrow(SyntaxError);
    expect(() => parseJsonLossless('<html>')).toThrow(SyntaxError);
  });
});

describe('stringifyForCalypso', () => {
  it('writes a Decimal as a bare JSON number, every digit kept', () => {
    expect(stringifyForCalypso({ amount: d('123456789.123456789012345678') })).toBe(
      '{"amount":123456789.123456789012345678}',
    );
  });

  it.each([
    ['0.000000000000000001'],
    ['1000000000000000000000000.000000000000000001'],
    ['10.50'],
    ['0'],
    ['-7.25'],
    ['99999999999999999999999999999999'],
  ])('writes %s byte for byte', (text) => {
    expect(stringifyForCalypso({ fee: d(text) })).toBe(`{"fee":${text}}`);
    expect(stringifyForCalypso([d(text)])).toBe(`[${text}]`);
  });

  it('keeps the scale of a Decimal built from units', () => {
    expect(stringifyForCalypso({ amount: Decimal.fromUnits(150n, 2) })).toBe('{"amount":1.50}');
  });

  it('is standard JSON without whitespace for everything else', () => {
    const value = {
      timestamp: 1700000000000,
      account: '0xabc',
      payload: { s: 'a "quoted" é\n', t: true, z: null, list: [1, 'x'], nested: { k: [] } },
    };
    expect(stringifyForCalypso(value)).toBe(JSON.stringify(value));
  });

  it('reproduces the signing test vector body', () => {
    expect(stringifyForCalypso({ timestamp: 1 })).toBe('{"timestamp":1}');
  });

  it('leaves out undefined properties, as JSON.stringify does', () => {
    expect(stringifyForCalypso({ a: 1, b: undefined, c: 'x' })).toBe('{"a":1,"c":"x"}');
  });

  it('writes JsonNumberText as a number and refuses text that is not one', () => {
    expect(stringifyForCalypso({ id: new JsonNumberText('98765432109876543210') })).toBe(
      '{"id":98765432109876543210}',
    );
    expect(() => new JsonNumberText('12a')).toThrow(RangeError);
    expect(() => new JsonNumberText('007')).toThrow(RangeError);
  });

  it('round-trips any decimal exactly through the lossless parser (property)', () => {
    fc.assert(
      fc.property(decimalText, decimalText, (amount, fee) => {
        const text = stringifyForCalypso({ amount: d(amount), fees: [d(fee)] });
        expect(text).toBe(`{"amount":${amount},"fees":[${fee}]}`);
        expect(parseJsonLossless(text)).toEqual({ amount, fees: [fee] });
      }),
    );
  });

  it('agrees with JSON.stringify on values without decimals (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3, noUnicodeString: false }), (value) => {
        expect(stringifyForCalypso(value)).toBe(JSON.stringify(value));
      }),
    );
  });
});
