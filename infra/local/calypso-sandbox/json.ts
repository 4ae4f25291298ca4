/**
 * JSON in and out without floats. Requests are parsed with every number kept as its source text
 * (a `JsonNumber`), so an amount is read exactly and a string is never mistaken for a number.
 * Responses write `Decimal` values as JSON numbers with their exact digits, as Calypso does.
 */
import { parse, stringify, type NumberStringifier } from 'lossless-json';
import { Decimal } from '../../../shared/domain/money.js';

/** A JSON number exactly as it was written in the request. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonObject = Record<string, unknown>;

/** Parses JSON text; numbers become `JsonNumber`. Throws SyntaxError on invalid JSON. */
export function parseJson(text: string): unknown {
  return parse(text, undefined, { parseNumber: (digits) => new JsonNumber(digits) });
}

export function isJsonObject(value: unknown): value is JsonObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof JsonNumber)
  );
}

// Number stringifiers are consulted before an object's toJSON(), so a Decimal is written as a
// number here even though Decimal.toJSON() gives a string.
const exactNumbers: NumberStringifier[] = [
  {
    test: (value) => value instanceof Decimal,
    stringify: (value) => (value as Decimal).toString(),
  },
  {
    test: (value) => value instanceof JsonNumber,
    stringify: (value) => (value as JsonNumber).text,
  },
];

/** Serialises a response body; `Decimal` values become JSON numbers with their exact digits. */
export function toJson(value: unknown): string {
  const text = stringify(value, undefined, undefined, exactNumbers);
  if (text === undefined) throw new TypeError('value has no JSON representation');
  return text;
}
