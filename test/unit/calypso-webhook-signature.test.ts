import { describe, expect, it } from 'vitest';
import { sign } from '../../shared/calypso/signing.js';
import { verifyWebhookSignature } from '../../shared/calypso/webhook-signature.js';

const OLD = { publicKey: 'pk-old-6f1e', secretKey: 'sk-old-0a9c4d2e7b' };
const NEW = { publicKey: 'pk-new-3b8d', secretKey: 'sk-new-5c1f9e3a20' };
const KEYS = [OLD, NEW];

/** A delivery as Calypso sends it: note the spacing, which the signature covers. */
const BODY =
  '{"requestId":"8d1c","id":1043,"createdDate":"2024-05-01T10:00:00.123456","level":"SUCCESS","service":"PAYOUT","eventType":"PAYOUT_CHANGE_STATUS","data":{"type":"PAYOUT_CHANGE_STATUS","payoutStatus":"COMPLETED","amount": 1.000000000000000001}}';

describe('verifyWebhookSignature', () => {
  it('accepts a delivery signed with either key during a rotation', () => {
    expect(
      verifyWebhookSignature(BODY, { Key: OLD.publicKey, Sign: sign(BODY, OLD.secretKey) }, KEYS),
    ).toEqual({
      ok: true,
      publicKey: OLD.publicKey,
    });
    expect(
      verifyWebhookSignature(BODY, { Key: NEW.publicKey, Sign: sign(BODY, NEW.secretKey) }, KEYS),
    ).toEqual({
      ok: true,
      publicKey: NEW.publicKey,
    });
  });

  it('reads header names in any case', () => {
    for (const [keyName, signName] of [
      ['key', 'sign'],
      ['KEY', 'SIGN'],
      ['kEy', 'Sign'],
    ] as const) {
      expect(
        verifyWebhookSignature(
          BODY,
          { [keyName]: NEW.publicKey, [signName]: sign(BODY, NEW.secretKey) },
          KEYS,
        ),
      ).toEqual({ ok: true, publicKey: NEW.publicKey });
    }
  });

  it('refuses a key that is not ours', () => {
    expect(
      verifyWebhookSignature(BODY, { Key: 'pk-unknown', Sign: sign(BODY, OLD.secretKey) }, KEYS),
    ).toEqual({ ok: false, reason: 'unknown-key' });
  });

  it("refuses one key's public key with the other key's signature", () => {
    expect(
      verifyWebhookSignature(BODY, { Key: NEW.publicKey, Sign: sign(BODY, OLD.secretKey) }, KEYS),
    ).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('refuses a tampered body, even a whitespace change', () => {
    const signature = sign(BODY, NEW.secretKey);
    const tampered = BODY.replace('COMPLETED', 'FAILED');
    const respaced = BODY.replace('"amount": 1', '"amount":1');
    for (const body of [tampered, respaced]) {
      expect(verifyWebhookSignature(body, { Key: NEW.publicKey, Sign: signature }, KEYS)).toEqual({
        ok: false,
        reason: 'bad-signature',
      });
    }
  });

  it('refuses a signature that is not hex of the right length', () => {
    expect(
      verifyWebhookSignature(
        BODY,
        { Key: NEW.publicKey, Sign: sign(BODY, NEW.secretKey).slice(2) },
        KEYS,
      ),
    ).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('reports missing headers', () => {
    const signature = sign(BODY, NEW.secretKey);
    expect(verifyWebhookSignature(BODY, { Sign: signature }, KEYS)).toEqual({
      ok: false,
      reason: 'missing-headers',
    });
    expect(verifyWebhookSignature(BODY, { Key: NEW.publicKey }, KEYS)).toEqual({
      ok: false,
      reason: 'missing-headers',
    });
    expect(verifyWebhookSignature(BODY, { Key: NEW.publicKey, Sign: undefined }, KEYS)).toEqual({
      ok: false,
      reason: 'missing-headers',
    });
    expect(verifyWebhookSignature(BODY, { Key: ' ', Sign: signature }, KEYS)).toEqual({
      ok: false,
      reason: 'missing-headers',
    });
  });

  it('accepts nothing when no keys are configured', () => {
    expect(
      verifyWebhookSignature(BODY, { Key: NEW.publicKey, Sign: sign(BODY, NEW.secretKey) }, []),
    ).toEqual({
      ok: false,
      reason: 'unknown-key',
    });
  });

  it('accepts when two entries share a public key and the second secret signed', () => {
    const rotatedSecret = { publicKey: NEW.publicKey, secretKey: 'sk-rotated-77aa' };
    expect(
      verifyWebhookSignature(
        BODY,
        { Key: NEW.publicKey, Sign: sign(BODY, rotatedSecret.secretKey) },
        [NEW, rotatedSecret],
      ),
    ).toEqual({ ok: true, publicKey: NEW.publicKey });
  });
});
