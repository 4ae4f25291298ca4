/**
 * Exact decimal money. A value is an integer count of units at a scale (value = units / 10^scale),
 * held in a bigint: no JS float ever touches an amount.
 *
 * Text in and out is a plain decimal: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, with no exponent, no sign
 * other than a leading minus, no leading or trailing dot, no negative zero, at most
 * `DECIMAL_MAX_DIGITS` digits. The scale of the text is kept, so `Decimal.parse(s).toString() === s`
 * for every accepted `s`.
 *
 * `Decimal.parse` reads any value we hold or Calypso sends (fees, balances), so its only bound is
 * the work; what a caller may ask to pay is narrower and checked by `checkAmount`.
 */

const PLAIN_DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;
/** Digits and dots only, but with leading zeros ("007", "00.5"): a common caller slip. */
const LEADING_ZEROS = /^-?0[0-9]+(\.[0-9]+)?$/;
/**
 * Far beyond any amount, fee or balance: it only bounds the work done on hostile text. Every value
 * read from Calypso fits, so what we store from it can always be read back.
 */
export const DECIMAL_MAX_DIGITS = 1000;

/** Digits before the point a caller's amount may have: text longer than this is refused unread. */
export const AMOUNT_MAX_INTEGER_DIGITS = 30;

export class DecimalFormatError extends Error {
  constructor(
    readonly text: string,
    readonly reason: string,
  ) {
    super(`${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)} ${reason}`);
    this.name = 'DecimalFormatError';
  }
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

export class Decimal {
  static readonly ZERO = new Decimal(0n, 0);

  private constructor(
    /** The value times 10^scale. */
    readonly units: bigint,
    /** Digits after the decimal point. */
    readonly scale: number,
  ) {}

  /** Parses a plain decimal string exactly; throws DecimalFormatError otherwise. */
  static parse(text: string): Decimal {
    if (typeof text !== 'string') throw new DecimalFormatError(String(text), 'is not a string');
    if (text.length > DECIMAL_MAX_DIGITS + 2)
      throw new DecimalFormatError(text, 'has too many digits');
    if (!PLAIN_DECIMAL.test(text)) throw new DecimalFormatError(text, describeBadDecimal(text));
    const negative = text.startsWith('-');
    const body = negative ? text.slice(1) : text;
    const dot = body.indexOf('.');
    const whole = dot === -1 ? body : body.slice(0, dot);
    const fraction = dot === -1 ? '' : body.slice(dot + 1);
    if (whole.length + fraction.length > DECIMAL_MAX_DIGITS) {
      throw new DecimalFormatError(text, 'has too many digits');
    }
    const units = BigInt(whole + fraction);
    // A bigint has no negative zero: "-0.00" would print as "0.00", so it is refused.
    if (negative && units === 0n) {
      throw new DecimalFormatError(text, 'is a negative zero; write it without the minus');
    }
    return new Decimal(negative ? -units : units, fraction.length);
  }

  /** Like parse, but returns undefined instead of throwing. */
  static tryParse(text: string): Decimal | undefined {
    try {
      return Decimal.parse(text);
    } catch {
      return undefined;
    }
  }

  /** The value `units / 10^scale`, e.g. fromUnits(150n, 2) is 1.50. */
  static fromUnits(units: bigint, scale: number): Decimal {
    if (!Number.isSafeInteger(scale) || scale < 0) throw new RangeError(`bad scale ${scale}`);
    return new Decimal(units, scale);
  }

  /** Exact sum; the result has the largest scale of the terms. */
  static sum(values: Iterable<Decimal>): Decimal {
    let total = Decimal.ZERO;
    for (const value of values) total = total.add(value);
    return total;
  }

  /** This value with at least `scale` fraction digits (never drops digits). */
  private widen(scale: number): bigint {
    return scale <= this.scale ? this.units : this.units * pow10(scale - this.scale);
  }

  add(other: Decimal): Decimal {
    const scale = Math.max(this.scale, other.scale);
    return new Decimal(this.widen(scale) + other.widen(scale), scale);
  }

  sub(other: Decimal): Decimal {
    const scale = Math.max(this.scale, other.scale);
    return new Decimal(this.widen(scale) - other.widen(scale), scale);
  }

  /** Multiplies by a whole number (a count), exactly. */
  times(count: bigint): Decimal {
    return new Decimal(this.units * count, this.scale);
  }

  compare(other: Decimal): -1 | 0 | 1 {
    const scale = Math.max(this.scale, other.scale);
    const a = this.widen(scale);
    const b = other.widen(scale);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  equals(other: Decimal): boolean {
    return this.compare(other) === 0;
  }

  isZero(): boolean {
    return this.units === 0n;
  }

  isPositive(): boolean {
    return this.units > 0n;
  }

  isNegative(): boolean {
    return this.units < 0n;
  }

  /** Digits actually needed after the point (trailing zeros ignored): 1.500 has 1. */
  significantScale(): number {
    let scale = this.scale;
    let units = this.units;
    while (scale > 0 && units % 10n === 0n) {
      units /= 10n;
      scale -= 1;
    }
    return scale;
  }

  /** The same value with trailing fraction zeros removed: 1.500 → 1.5, 2.00 → 2. */
  normalize(): Decimal {
    const scale = this.significantScale();
    return scale === this.scale ? this : new Decimal(this.units / pow10(this.scale - scale), scale);
  }

  /** The same value at exactly `scale` digits; throws if that would drop a non-zero digit. */
  rescale(scale: number): Decimal {
    if (scale >= this.scale) return new Decimal(this.widen(scale), scale);
    if (this.significantScale() > scale) {
      throw new RangeError(`${this.toString()} has more than ${scale} decimals`);
    }
    return new Decimal(this.units / pow10(this.scale - scale), scale);
  }

  /** Integer base units at `decimals` (e.g. satoshi for 8); exact or throws. */
  toBaseUnits(decimals: number): bigint {
    return this.rescale(decimals).units;
  }

  /** Plain decimal text, the scale kept: the JSON number text of this value. */
  toString(): string {
    const negative = this.units < 0n;
    const digits = (negative ? -this.units : this.units).toString();
    if (this.scale === 0) return negative ? `-${digits}` : digits;
    const padded = digits.padStart(this.scale + 1, '0');
    const whole = padded.slice(0, padded.length - this.scale);
    const fraction = padded.slice(padded.length - this.scale);
    return `${negative ? '-' : ''}${whole}.${fraction}`;
  }

  /** At our own API's edges an amount is a decimal string. */
  toJSON(): string {
    return this.toString();
  }
}

function describeBadDecimal(text: string): string {
  if (text.trim() === '') return 'is empty';
  if (text !== text.trim()) return 'has surrounding spaces';
  if (/[eE]/.test(text) && /^[-+]?[0-9.]+[eE][-+]?[0-9]+$/.test(text)) {
    return 'uses exponent notation; write the plain decimal';
  }
  if (text.startsWith('+')) return 'has a plus sign';
  if (text.includes(',')) return 'has a comma; use a dot as the decimal separator and no grouping';
  if (LEADING_ZEROS.test(text)) return 'has leading zeros';
  if (/^-?\.[0-9]/.test(text) || /\.$/.test(text)) return 'needs digits on both sides of the dot';
  return 'is not a plain decimal number';
}

export type AmountProblem =
  'not-a-string' | 'format' | 'not-positive' | 'too-many-decimals' | 'too-large';

export type AmountCheck =
  { ok: true; value: Decimal } | { ok: false; problem: AmountProblem; message: string };

/** The largest amount a caller may send to one recipient, and the currency it is counted in. */
export interface AmountMaximum {
  value: Decimal;
  currency: string;
}

/** The JSON type of a value, as a caller would name it: `number`, `array`, `null`, … */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Validates a caller's amount: a decimal string, greater than zero, with no more than
 * `maxDecimals` digits after the point (trailing zeros beyond it are refused too: "1.10" for a
 * 1-decimal currency is ambiguous about intent and refused), and no more than `maximum` when one
 * is given. Text with more than `AMOUNT_MAX_INTEGER_DIGITS` digits before the point is refused
 * before it is parsed.
 */
export function checkAmount(
  input: unknown,
  maxDecimals: number,
  maximum?: AmountMaximum,
): AmountCheck {
  if (typeof input !== 'string') {
    return {
      ok: false,
      problem: 'not-a-string',
      message: `must be a decimal string such as "10.50", got ${jsonTypeOf(input)}`,
    };
  }
  const tooLarge = (): AmountCheck => ({
    ok: false,
    problem: 'too-large',
    message: maximum
      ? `must be at most ${maximum.value.toString()} ${maximum.currency} per recipient`
      : `has more than ${AMOUNT_MAX_INTEGER_DIGITS} digits before the decimal point`,
  });
  if (integerDigits(input) > AMOUNT_MAX_INTEGER_DIGITS) return tooLarge();
  let value: Decimal;
  try {
    value = Decimal.parse(input);
  } catch (err) {
    return { ok: false, problem: 'format', message: (err as DecimalFormatError).reason };
  }
  if (!value.isPositive())
    return { ok: false, problem: 'not-positive', message: 'must be greater than 0' };
  if (value.scale > maxDecimals) {
    return {
      ok: false,
      problem: 'too-many-decimals',
      message: `has ${value.scale} decimals; this currency allows at most ${maxDecimals}`,
    };
  }
  if (maximum && value.compare(maximum.value) > 0) return tooLarge();
  return { ok: true, value };
}

/** The digits before the point (after an optional minus), counted without reading further. */
function integerDigits(text: string): number {
  let i = text.startsWith('-') ? 1 : 0;
  const start = i;
  while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i += 1;
  return i - start;
}
