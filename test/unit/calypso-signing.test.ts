import { describe, expect, it } from 'vitest';
import { sign, signatureMatches } from '../../shared/calypso/signing.js';

/** The provider's documented test vector (calypso-api.md §1). */
const VECTOR = {
  publicKey: 'c529e14832b34b74972365cf7bf02430',
  secretKey: 'b823a6b9ea72408583cef9ec8d67fa52',
  body: '{"timestamp":1}',
  sign: 'b16e9d45f49f2069becbc4f108b237bee588cfc353fe9501df103e692acbc68d482a10d34c12bea22fedde7e28e1b8e57a6a0a373b0e9a27c5257bd8b36e13b9',
};

/** The same hex with one character changed (to another hex digit). */
function flipOneChar(hex: string, at: number): string {
  const replacement = hex[at] === '0' ? '1' : '0';
  return `${hex.slice(0, at)}${replacement}${hex.slice(at + 1)}`;
}

describe('sign', () => {
  it('reproduces the documented test vector exactly', () => {
    expect(VECTOR.body).toHaveLength(15);
    expect(sign(VECTOR.body, VECTOR.secretKey)).toBe(VECTOR.sign);
  });

  it('is lowercase hex of 64 bytes', () => {
    expect(sign('{"a":1}', VECTOR.secretKey)).toMatch(/^[0-9a-f]{128}$/);
  });

  it('changes when a space follows the colon: whitespace matters', () => {
    const spaced = sign('{"timestamp": 1}', VECTOR.secretKey);
    expect(spaced).not.toBe(VECTOR.sign);
    expect(spaced).toMatch(/^[0-9a-f]{128}$/);
  });

  it('is keyed with the secret key, not the public key', () => {
    expect(sign(VECTOR.body, VECTOR.publicKey)).not.toBe(VECTOR.sign);
  });
});

describe('signatureMatches', () => {
  it('accepts the documented signature, in either case', () => {
    expect(signatureMatches(VECTOR.body, VECTOR.sign, VECTOR.secretKey)).toBe(true);
    expect(signatureMatches(VECTOR.body, VECTOR.sign.toUpperCase(), VECTOR.secretKey)).toBe(true);
  });

  it('rejects a signature of the wrong length', () => {
    expect(signatureMatches(VECTOR.body, VECTOR.sign.slice(0, 126), VECTOR.secretKey)).toBe(false);
    expect(signatureMatches(VECTOR.body, `${VECTOR.sign}00`, VECTOR.secretKey)).toBe(false);
    expect(signatureMatches(VECTOR.body, '', VECTOR.secretKey)).toBe(false);
  });

  it('rejects non-hex input of the right length', () => {
    const nonHex = `${VECTOR.sign.slice(0, 127)}g`;
    expect(nonHex).toHaveLength(128);
    expect(signatureMatches(VECTOR.body, nonHex, VECTOR.secretKey)).toBe(false);
    expect(signatureMatches(VECTOR.body, ' '.repeat(128), VECTOR.secretKey)).toBe(false);
  });

  it.each([0, 1, 63, 64, 127])('rejects the signature with character %i changed', (at) => {
    expect(signatureMatches(VECTOR.body, flipOneChar(VECTOR.sign, at), VECTOR.secretKey)).toBe(
      false,
    );
  });

  it('rejects the right signature for another body or another secret', () => {
    expect(signatureMatches('{"timestamp": 1}', VECTOR.sign, VECTOR.secretKey)).toBe(false);
    expect(signatureMatches(VECTOR.body, VECTOR.sign, VECTOR.publicKey)).toBe(false);
  });
});
