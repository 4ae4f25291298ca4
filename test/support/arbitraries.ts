/** fast-check generators shared by the money and JSON tests. */
import fc from 'fast-check';

const digit = fc.constantFrom(...'0123456789');
const digits = (minLength: number, maxLength: number) =>
  fc.array(digit, { minLength, maxLength }).map((chars) => chars.join(''));

/**
 * Plain decimal text as `Decimal.parse` accepts it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, no negative
 * zero, with up to `maxDigits` digits on each side of the point.
 */
export function plainDecimalText(maxDigits: number) {
  const wholePart = fc.oneof(
    fc.constant('0'),
    fc
      .tuple(fc.constantFrom(...'123456789'), digits(0, maxDigits))
      .map(([first, rest]) => first + rest),
  );
  return fc
    .tuple(fc.boolean(), wholePart, fc.option(digits(1, maxDigits), { nil: undefined }))
    .map(([negative, whole, fraction]) => {
      const unsigned = fraction === undefined ? whole : `${whole}.${fraction}`;
      return negative && /[1-9]/.test(unsigned) ? `-${unsigned}` : unsigned;
    });
}
