/**
 * JSON in and out of Calypso without a float in between.
 *
 * Calypso sends amounts and fees as JSON numbers and expects them as JSON numbers. Parsing keeps
 * every number as its exact source text (a string), so the response schemas can turn amounts
 * into `Decimal` exactly; stringifying writes every `Decimal` as a bare JSON number.
 */
import { parse, stringify, type NumberStringifier } from 'lossless-json';
import { Decimal } from '../domain/money.js';

/**
 * Parses JSON text like `JSON.parse`, except that every number becomes its exact source text as
 * a string (`1.10` → `"1.10"`, `1E-18` → `"1E-18"`). A duplicated key keeps its last value, as
 * `JSON.parse` does. Throws a SyntaxError on text that is not JSON.
 */
export function parseJsonLossless(text: string): unknown {
  return parse(text, null, {
    parseNumber: (numberText) => numberText,
    onDuplicateKey: ({ newValue }) => newValue,
  });
}

/**
 * A JSON number given by its text, written as is: for values that must be sent as numbers but
 * are held as strings (a numeric Calypso id, for example).
 */
export class JsonNumberText {
  readonly text: string;
  constructor(text: string) {
    if (!JSON_NUMBER.test(text)) throw new RangeError(`not a JSON number: ${JSON.stringify(text)}`);
    this.text = text;
  }
}

const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/;

const NUMBER_STRINGIFIERS: NumberStringifier[] = [
  // Checked before `toJSON`, which would otherwise turn a Decimal into a quoted string.
  {
    test: (value) => value instanceof Decimal,
    stringify: (value) => (value as Decimal).toString(),
  },
  {
    test: (value) => value instanceof JsonNumberText,
    stringify: (value) => (value as JsonNumberText).text,
  },
];

/**
 * The request body text Calypso gets: standard JSON with no whitespace, except that `Decimal`
 * (and `JsonNumberText`) values are written as JSON numbers with every digit kept, e.g.
 * `{"amount":123456789.123456789012345678}`.
 */
export function stringifyForCalypso(value: unknown): string {
  const text = stringify(value, undefined, undefined, NUMBER_STRINGIFIERS);
  if (text === undefined) throw new TypeError('value has no JSON representation');
  return text;
}
