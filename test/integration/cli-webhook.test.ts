/** `payouts webhook register` against a Calypso stand-in on 127.0.0.1 that checks every signature. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { processIo, type CliIo } from '../../cli/context.js';
import { main } from '../../cli/payouts.js';
import { CalypsoStubServer } from '../support/calypso-stub-server.js';

const API_KEY = 'c529e14832b34b74972365cf7bf02430';
const SECRET = 'b823a6b9ea72408583cef9ec8d67fa52';
const ACCOUNT = '0x5f0a2c1e9b';
const HOOK = 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/webhooks/calypso';

let stub: CalypsoStubServer;

beforeAll(async () => {
  stub = await CalypsoStubServer.start({ apiKey: API_KEY, secretKey: SECRET });
});
afterAll(async () => {
  await stub.close();
});
beforeEach(() => stub.reset());

async function run(args: string[], env: Record<string, string>) {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    ...processIo(),
    stdout: { write: (t: string) => (out.stdout += t) },
    stderr: { write: (t: string) => (out.stderr += t) },
    env,
    sleep: () => Promise.resolve(),
  };
  const code = await main(args, io);
  return { code, ...out };
}

function calypsoEnv(): Record<string, string> {
  return {
    CALYPSO_BASE_URL: stub.url,
    CALYPSO_PATH_PREFIX: '/api/v1',
    CALYPSO_API_KEY: API_KEY,
    CALYPSO_SECRET_KEY: SECRET,
    CALYPSO_ACCOUNT: ACCOUNT,
  };
}

describe('payouts webhook register', () => {
  it('subscribes the URL to PAYOUT events and says what to put in the secret', async () => {
    stub.reply('/api/v1/subscription/webhook/create', {
      status: 200,
      body: {
        url: HOOK,
        notificationServiceTypes: ['PAYOUT'],
        publicKey: 'pk-new',
        secretKey: "sk-n'ew",
      },
    });
    const result = await run(
      [
        'webhook',
        'register',
        HOOK,
        '--request-id',
        'req-1',
        '--secret-id',
        'arn:aws:secretsmanager:eu-west-1:1:secret:calypso',
      ],
      calypsoEnv(),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    expect(stub.requests).toHaveLength(1);
    const body = stub.requests[0]!.body as { account: string; payload: unknown };
    expect(body.account).toBe(ACCOUNT);
    expect(body.payload).toEqual({
      requestId: 'req-1',
      notificationServiceTypes: ['PAYOUT'],
      url: HOOK,
    });

    expect(result.stdout).toMatch(/requestId +req-1/);
    expect(result.stdout).toMatch(/publicKey +pk-new/);
    expect(result.stdout).toMatch(/secretKey +sk-n'ew/);
    expect(result.stdout).toContain(
      `"webhookKeys": [ …the keys already there…, {"publicKey":"pk-new","secretKey":"sk-n'ew"} ]`,
    );
    expect(result.stdout).toContain(
      "SECRET_ID='arn:aws:secretsmanager:eu-west-1:1:secret:calypso'",
    );
    expect(result.stdout).toContain(`jq --arg pk 'pk-new' --arg sk 'sk-n'\\''ew'`);
    expect(result.stdout).toContain(
      'aws secretsmanager put-secret-value --secret-id "$SECRET_ID" --secret-string file://webhook-secret.json',
    );
    expect(result.stdout).toContain('Add this key to the webhook secret in Secrets Manager');
    expect(result.stdout).toContain('CalypsoWebhookSecretArn');
    expect(result.stdout).toContain(
      `CALYPSO_WEBHOOK_PUBLIC_KEY='pk-new' CALYPSO_WEBHOOK_SECRET_KEY='sk-n'\\''ew'`,
    );
  });

  it('names the webhook secret, from $CALYPSO_WEBHOOK_SECRET_ARN, never the signing secret', async () => {
    stub.reply('/api/v1/subscription/webhook/create', {
      status: 200,
      body: { url: HOOK, publicKey: 'pk-2', secretKey: 'sk-2' },
    });
    const signing = 'arn:aws:secretsmanager:eu-west-1:1:secret:calypso-signing';
    const webhook = 'arn:aws:secretsmanager:eu-west-1:1:secret:calypso-webhook';
    const fromEnv = await run(['webhook', 'register', HOOK], {
      ...calypsoEnv(),
      CALYPSO_SECRET_ARN: signing,
      CALYPSO_WEBHOOK_SECRET_ARN: webhook,
    });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toContain(`SECRET_ID='${webhook}'`);
    expect(fromEnv.stdout).not.toContain(signing);

    const unset = await run(['webhook', 'register', HOOK], {
      ...calypsoEnv(),
      CALYPSO_SECRET_ARN: signing,
    });
    expect(unset.code).toBe(0);
    expect(unset.stdout).toContain('SECRET_ID=<the stack output CalypsoWebhookSecretArn>');
    expect(unset.stdout).not.toContain(signing);
  });

  it('its help names the webhook secret', async () => {
    const help = await run(['webhook', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('$CALYPSO_WEBHOOK_SECRET_ARN');
    expect(help.stdout).toContain('CalypsoWebhookSecretArn');
    expect(help.stdout).not.toContain('CALYPSO_SECRET_ARN');
  });

  it('reports what Calypso refused', async () => {
    stub.reply('/api/v1/subscription/webhook/create', {
      status: 400,
      body: { errorCode: '010', message: 'Invalid url', traceId: 't-1' },
    });
    const result = await run(['webhook', 'register', 'http://127.0.0.1:9/hook'], calypsoEnv());
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('note: http://127.0.0.1:9/hook is not https');
    expect(result.stderr).toContain('does not end with it');
    expect(result.stderr).toMatch(/Calypso did not create the subscription: .*010/);
    expect(result.stderr).toContain('traceId t-1');
  });

  it('names the missing credentials and calls nothing', async () => {
    const result = await run(['webhook', 'register', HOOK], {
      CALYPSO_BASE_URL: stub.url,
      CALYPSO_API_KEY: API_KEY,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Missing: CALYPSO_SECRET_KEY, CALYPSO_ACCOUNT');
    expect(stub.requests).toEqual([]);
  });

  it('checks its arguments', async () => {
    expect((await run(['webhook', 'list'], calypsoEnv())).code).toBe(2);
    expect((await run(['webhook', 'register'], calypsoEnv())).code).toBe(2);
    expect((await run(['webhook', 'register', 'not a url'], calypsoEnv())).stderr).toContain(
      'not a URL',
    );
  });
});
