/**
 * The webhook route's answer to each outcome of receiving a delivery: a stored event (new,
 * unreadable or seen before) is a 200, so Calypso stops delivering it; a bad signature a 401.
 */
import { describe, expect, it } from 'vitest';
import { webhookResponse } from '../../functions/calypso-webhook.js';
import { HttpProblem } from '../../shared/http/problem.js';

describe('webhook outcomes as HTTP answers', () => {
  it.each([
    { kind: 'stored' as const, body: { stored: true } },
    { kind: 'stored-malformed' as const, body: { stored: true, verdict: 'malformed' } },
    { kind: 'duplicate' as const, body: { duplicate: true } },
  ])('$kind: 200 $body', ({ kind, body }) => {
    expect(webhookResponse({ kind })).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  });

  it('bad-signature: a 401 problem naming the Sign header', () => {
    let thrown: unknown;
    try {
      webhookResponse({ kind: 'bad-signature' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(HttpProblem);
    expect((thrown as HttpProblem).body()).toEqual({
      type: 'https://errors.payouts.internal/signature-not-valid',
      title: 'The webhook signature is not valid',
      status: 401,
      errors: [{ path: 'header:Sign', message: 'does not match the body for any configured key' }],
    });
  });
});
