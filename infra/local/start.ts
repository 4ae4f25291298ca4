/**
 * `npm start`: the whole system on this machine, in one process.
 *
 * - DynamoDB Local (the jar in the npm package) with its data under .local-data/ (or in memory
 *   with --in-memory), the table created from the shared definition;
 * - the Calypso sandbox at a real-time speed factor, unless CALYPSO_BASE_URL points elsewhere;
 * - the same handlers behind an HTTP server on 127.0.0.1, from the same route list as the stack;
 * - submission and the applying of stored webhooks in-process, and the reconciler on a timer.
 * Ctrl-C stops everything cleanly; a second start reuses the data. A start on a data folder that
 * another running stack uses is refused (see lock.ts).
 */
// First: the environment defaults, before any module that reads them as it loads.
import './local-env.js';
import { parseArgs } from 'node:util';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { createTableInput } from '../../shared/store/table.js';
import {
  startCalypsoSandbox,
  TEST_VECTOR_ACCOUNT,
  type CalypsoSandbox,
} from './calypso-sandbox/index.js';
import { startDynamoDbLocal } from './dynamodb-local.js';
import { DataDirLockedError, lockDataDir, type DataDirLock } from './lock.js';
import { startLocalSystem } from './system.js';

const { values: args } = parseArgs({
  options: {
    'in-memory': { type: 'boolean', default: false },
    'data-dir': { type: 'string', default: process.env.LOCAL_DATA_DIR ?? '.local-data' },
    quiet: { type: 'boolean', default: false },
  },
});

const env = process.env;
const port = Number(env.PORT ?? 3000);
const reconcileIntervalMs = Number(env.RECONCILE_INTERVAL_MS ?? 5000);
const sandboxSpeed = Number(env.SANDBOX_SPEED ?? 10);
const tableName = env.TABLE_NAME ?? 'payouts-local';
const say = (line: string) => {
  if (!args.quiet) console.log(line);
};

async function ensureTable(db: DynamoDBClient) {
  try {
    await db.send(new DescribeTableCommand({ TableName: tableName }));
    return 'reused';
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
  await db.send(new CreateTableCommand(createTableInput(tableName)));
  return 'created';
}

/** What to stop on the way out, in order. */
const stops: (() => Promise<void>)[] = [];

let lock: DataDirLock | undefined;
// Whatever the way out, a lock left behind would only be taken over as stale; remove it now.
process.on('exit', () => lock?.release());

async function main() {
  if (!args['in-memory']) lock = lockDataDir(args['data-dir']);

  const dynamo = await startDynamoDbLocal({
    ...(env.DYNAMODB_PORT ? { port: Number(env.DYNAMODB_PORT) } : {}),
    ...(args['in-memory'] ? {} : { dataDir: `${args['data-dir']}/dynamodb` }),
  });
  stops.push(() => dynamo.stop());
  const db = new DynamoDBClient({ endpoint: dynamo.endpoint });
  const table = await ensureTable(db);
  db.destroy();

  let sandbox: CalypsoSandbox | undefined;
  const settings: Record<string, string | undefined> = { ...env, TABLE_NAME: tableName };
  settings.POLL_INTERVAL_MS ??= String(reconcileIntervalMs);
  if (!env.CALYPSO_BASE_URL) {
    sandbox = await startCalypsoSandbox({
      port: Number(env.SANDBOX_PORT ?? 0),
      clock: { mode: 'realtime', speed: sandboxSpeed },
      // The sandbox numbers listing pages as the functions are told Calypso does.
      firstPage: env.CALYPSO_FIRST_PAGE === '1' ? 1 : 0,
    });
    stops.push(() => sandbox!.close());
    Object.assign(settings, {
      CALYPSO_BASE_URL: sandbox.url,
      CALYPSO_PATH_PREFIX: sandbox.pathPrefix,
      CALYPSO_API_KEY: TEST_VECTOR_ACCOUNT.apiKey,
      CALYPSO_SECRET_KEY: TEST_VECTOR_ACCOUNT.secretKey,
      CALYPSO_ACCOUNT: TEST_VECTOR_ACCOUNT.account,
    });
  }

  // Checks the configuration now rather than on the first request; with the sandbox, subscribes
  // our webhook URL there, as an operator does once at Calypso.
  const local = await startLocalSystem({
    settings,
    dynamo: { endpoint: dynamo.endpoint },
    api: { port },
    subscribeWebhooks: sandbox !== undefined,
  });
  stops.unshift(() => local.close());
  const api = local.api!;
  lock?.update({ apiUrl: api.url });

  let ticking: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (ticking) return; // never two ticks at once
    ticking = local
      .reconcile({ remainingMs: () => reconcileIntervalMs * 10, reserveMs: 0 })
      .catch((err: unknown) => console.error('reconcile tick failed:', err))
      .finally(() => (ticking = undefined));
  }, reconcileIntervalMs);

  say('');
  say('Calypso mass payouts: local stack is up');
  say(`  API              ${api.url}`);
  say(
    `  Calypso          ${sandbox ? `${sandbox.url}${sandbox.pathPrefix}  (sandbox, ${sandboxSpeed}x speed; admin: ${sandbox.url}/__sandbox)` : env.CALYPSO_BASE_URL}`,
  );
  say(
    `  DynamoDB Local   ${dynamo.endpoint}  (table ${tableName}, ${table}; ${args['in-memory'] ? 'in memory' : `data in ${args['data-dir']}/dynamodb`})`,
  );
  say(`  Reconciler       every ${reconcileIntervalMs} ms`);
  say('');
  say('Try it:');
  say(`  curl -s -X POST ${api.url}/payouts \\`);
  say(`    -H 'content-type: application/json' -H "idempotency-key: demo-$(date +%s)" \\`);
  say(
    `    -d '{"currency":"BTC","name":"demo","recipients":[{"address":"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa","amount":"0.001","externalId":"r-1"}]}'`,
  );
  say(`  curl -s ${api.url}/payouts/<id>          # then watch it complete`);
  say(`  npx payouts get <id> --watch --api-url ${api.url}`);
  say('');
  say('Ctrl-C stops everything.');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping...`);
    clearInterval(timer);
    await ticking;
    for (const stop of stops) await stop().catch((err: unknown) => console.error(err));
    say('stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch(async (err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  if (err instanceof DataDirLockedError) process.exit(1);
  for (const stop of stops) await stop().catch(() => undefined);
  process.exit(1);
});
