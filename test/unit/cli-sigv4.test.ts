import { describe, expect, it } from 'vitest';
import { createSigV4Signer, regionFromHost, signerForUrl } from '../../cli/sigv4.js';

const EXAMPLE_CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

describe('SigV4 signing', () => {
  it('matches the AWS SigV4 test suite (get-vanilla)', async () => {
    const sign = createSigV4Signer({
      region: 'us-east-1',
      service: 'service',
      credentials: EXAMPLE_CREDENTIALS,
      now: () => new Date('2015-08-30T12:36:00Z'),
    });
    const headers = await sign({
      method: 'GET',
      url: new URL('https://example.amazonaws.com/'),
      headers: {},
    });
    expect(headers['x-amz-date']).toBe('20150830T123600Z');
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
        'SignedHeaders=host;x-amz-date, ' +
        'Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });

  it('signs an execute-api request: region from the URL, body, query and session token included', async () => {
    const url = new URL(
      'https://abc123.execute-api.eu-central-1.amazonaws.com/prod/payouts?dryRun=true',
    );
    const sign = signerForUrl(url, {}, { ...EXAMPLE_CREDENTIALS, sessionToken: 'TOKEN' });
    expect(sign).toBeDefined();
    const request = {
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', 'idempotency-key': 'cli-0123456789' },
      body: '{"currency":"BTC"}',
    };
    const headers = await sign!(request);
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-central-1\/execute-api\/aws4_request, SignedHeaders=content-type;host;idempotency-key;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-security-token']).toBe('TOKEN');
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers.host).toBeUndefined();
    expect(headers['content-type']).toBe('application/json');

    const fixed = (body: string) =>
      createSigV4Signer({
        region: 'eu-central-1',
        credentials: EXAMPLE_CREDENTIALS,
        now: () => new Date('2030-01-01T00:00:00Z'),
      })({
        ...request,
        body,
      });
    const a = await fixed('{"currency":"BTC"}');
    expect((await fixed('{"currency":"BTC"}')).authorization).toBe(a.authorization);
    expect((await fixed('{"currency":"ETH"}')).authorization).not.toBe(a.authorization);
  });

  it('takes the region from the host, else AWS_REGION; plain http is not signed', () => {
    expect(regionFromHost('abc.execute-api.us-west-2.amazonaws.com')).toBe('us-west-2');
    expect(regionFromHost('abc-vpce-123.execute-api.ap-southeast-1.vpce.amazonaws.com')).toBe(
      'ap-southeast-1',
    );
    expect(regionFromHost('abc.execute-api.cn-north-1.amazonaws.com.cn')).toBe('cn-north-1');
    expect(regionFromHost('payouts.example.com')).toBeUndefined();

    expect(signerForUrl(new URL('http://127.0.0.1:3000'), {})).toBeUndefined();
    expect(
      signerForUrl(
        new URL('https://payouts.example.com'),
        { AWS_REGION: 'eu-west-1' },
        EXAMPLE_CREDENTIALS,
      ),
    ).toBeTypeOf('function');
    expect(() =>
      signerForUrl(new URL('https://payouts.example.com'), {}, EXAMPLE_CREDENTIALS),
    ).toThrow(/set AWS_REGION/);
  });

  it('says so when no credentials can be found', async () => {
    const sign = createSigV4Signer({
      region: 'eu-west-1',
      credentials: () => Promise.reject(new Error('Could not load credentials from any providers')),
    });
    await expect(
      sign({
        method: 'GET',
        url: new URL('https://a.execute-api.eu-west-1.amazonaws.com/p/balances'),
        headers: {},
      }),
    ).rejects.toThrow(
      /could not sign the request to https:\/\/a\.execute-api\.eu-west-1\.amazonaws\.com with AWS credentials: Could not load credentials/,
    );
  });
});
