/**
 * `payouts webhook register <url>`: subscribes our webhook endpoint to Calypso's PAYOUT
 * notifications, talking to Calypso directly (not through the payouts API), and says where the
 * subscription's keys go: the webhook secret's `webhookKeys` (stack output
 * `CalypsoWebhookSecretArn`), next to the keys already there. That secret holds only webhook keys;
 * the API signing key lives apart, in the Calypso secret.
 */
import { randomUUID } from 'node:crypto';
import { CalypsoClient } from '../../shared/calypso/client.js';
import { CalypsoError } from '../../shared/calypso/errors.js';
import { CALYPSO_DEFAULTS } from '../../shared/defaults.js';
import { EXIT, ReportedError, UsageError, type Context } from '../context.js';
import { stringOption, type ParsedCommandLine } from '../options.js';
import { describeError, InputError } from '../errors.js';
import { keyValues } from '../render.js';

const WEBHOOK_PATH = '/webhooks/calypso';
const REQUIRED_ENV = [
  'CALYPSO_BASE_URL',
  'CALYPSO_API_KEY',
  'CALYPSO_SECRET_KEY',
  'CALYPSO_ACCOUNT',
] as const;

export async function webhookCommand(ctx: Context, cmd: ParsedCommandLine): Promise<number> {
  const [action, url, ...rest] = cmd.positionals;
  if (action !== 'register') {
    throw new UsageError(
      action === undefined
        ? 'webhook needs an action: webhook register <url>'
        : `unknown webhook action ${JSON.stringify(action)}; try: webhook register <url>`,
    );
  }
  if (url === undefined) throw new UsageError('webhook register needs the URL Calypso should call');
  if (rest.length > 0)
    throw new UsageError(`webhook register takes one URL (got ${[url, ...rest].join(' ')})`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new UsageError('the webhook URL must be http(s)');

  const env = ctx.io.env;
  const missing = REQUIRED_ENV.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new InputError(
      `webhook register talks to Calypso directly and needs its credentials in the environment.\n` +
        `Missing: ${missing.join(', ')}${env.CALYPSO_PATH_PREFIX ? '' : ` (and optionally CALYPSO_PATH_PREFIX, default ${CALYPSO_DEFAULTS.pathPrefix})`}`,
    );
  }
  if (parsed.protocol !== 'https:')
    ctx.note(`note: ${url} is not https; Calypso will send payout data to it in the clear`);
  if (!parsed.pathname.replace(/\/+$/, '').endsWith(WEBHOOK_PATH)) {
    ctx.note(
      `note: the payouts API receives Calypso's webhooks at POST ${WEBHOOK_PATH}; ${url} does not end with it`,
    );
  }

  const requestId = stringOption(cmd.values, 'request-id') ?? randomUUID();
  const client = new CalypsoClient(
    {
      baseUrl: env.CALYPSO_BASE_URL!,
      ...(env.CALYPSO_PATH_PREFIX ? { pathPrefix: env.CALYPSO_PATH_PREFIX } : {}),
      apiKey: env.CALYPSO_API_KEY!,
      secretKey: env.CALYPSO_SECRET_KEY!,
      account: env.CALYPSO_ACCOUNT!,
    },
    {
      ...(ctx.io.fetch ? { fetch: ctx.io.fetch } : {}),
      sleep: (ms) => ctx.io.sleep(ms),
    },
  );

  let subscription;
  try {
    subscription = await client.createWebhookSubscription({
      requestId,
      url,
      notificationServiceTypes: ['PAYOUT'],
    });
  } catch (err) {
    if (!(err instanceof CalypsoError) || ctx.json) throw err;
    ctx.err(`Calypso did not create the subscription: ${err.message}\n`);
    ctx.err(
      `  ${env.CALYPSO_BASE_URL} · requestId ${requestId}${err.traceId ? ` · traceId ${err.traceId}` : ''}\n`,
    );
    throw new ReportedError(describeError(err).exitCode);
  }

  if (ctx.json) {
    ctx.printJson(subscription);
    return EXIT.ok;
  }
  const { publicKey, secretKey } = subscription;
  ctx.out('Calypso webhook subscription created.\n');
  ctx.out(
    keyValues([
      ['requestId', subscription.requestId],
      ['url', subscription.url ?? url],
      ['events', (subscription.notificationServiceTypes ?? ['PAYOUT']).join(', ')],
      ['publicKey', publicKey ?? '(not returned)'],
      [
        'secretKey',
        secretKey
          ? `${secretKey}  (a secret: store it, do not paste it elsewhere)`
          : '(not returned)',
      ],
    ]),
  );
  if (!publicKey || !secretKey) {
    ctx.err(
      'Calypso did not return both keys, so webhook signatures cannot be checked with this subscription.\n' +
        `Delete it (requestId ${subscription.requestId}) and register again.\n`,
    );
    return EXIT.failure;
  }
  ctx.out(
    secretInstructions(
      publicKey,
      secretKey,
      stringOption(cmd.values, 'secret-id') ?? env.CALYPSO_WEBHOOK_SECRET_ARN,
    ),
  );
  return EXIT.ok;
}

/** A value in single quotes for a POSIX shell. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export function secretInstructions(
  publicKey: string,
  secretKey: string,
  secretId: string | undefined,
): string {
  const entry = JSON.stringify({ publicKey, secretKey });
  const id = secretId ? shellQuote(secretId) : '<the stack output CalypsoWebhookSecretArn>';
  return `
Add this key to the webhook secret in Secrets Manager (the stack output CalypsoWebhookSecretArn,
not the Calypso secret that holds the API signing key), keeping the keys already in webhookKeys
(every listed key is accepted; remove an old one once Calypso no longer signs with it):

  "webhookKeys": [ …the keys already there…, ${entry} ]

With the AWS CLI and jq:

  SECRET_ID=${id}
  aws secretsmanager get-secret-value --secret-id "$SECRET_ID" --query SecretString --output text \\
    | jq --arg pk ${shellQuote(publicKey)} --arg sk ${shellQuote(secretKey)} \\
        '.webhookKeys = ([(.webhookKeys // [])[] | select(.publicKey != $pk)] + [{publicKey: $pk, secretKey: $sk}])' \\
    > webhook-secret.json
  aws secretsmanager put-secret-value --secret-id "$SECRET_ID" --secret-string file://webhook-secret.json
  rm webhook-secret.json

The webhook function reads the secret again at once when a delivery is signed with a key it does
not know (at most every 30 s), and otherwise when its cached copy expires (SECRET_CACHE_TTL_MS,
5 minutes by default). For the local stack, set instead:

  CALYPSO_WEBHOOK_PUBLIC_KEY=${shellQuote(publicKey)} CALYPSO_WEBHOOK_SECRET_KEY=${shellQuote(secretKey)}
`;
}
