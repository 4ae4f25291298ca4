/**
 * The local stack from the outside, as a developer runs it: `npm start -- --in-memory` as a child
 * process, the example its banner prints, and the payouts CLI as a child process turning a
 * 250-recipient BTC CSV into a payout, watching it to completion and exporting its withdrawals.
 * Then SIGINT: the stack stops cleanly, DynamoDB Local with it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsv } from '../../cli/csv.js';
import { Decimal } from '../../shared/domain/money.js';
import { btcAddress } from '../support/recipients.js';
import {
  descendants,
  freePort,
  groupMembers,
  isAlive,
  isListening,
  killGroup,
  runToEnd,
  startLongRunning,
  waitFor,
  type LongRunning,
} from './support/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'bin/payouts.mjs');
const RECIPIENTS = 250;
/** A cold start compiles TypeScript and boots a JVM: slow on a busy machine. */
const START_TIMEOUT_MS = 120_000;
const CLI_TIMEOUT_MS = 120_000;

/** Environment the stack must not inherit: it would point it somewhere else. */
const FOREIGN_ENV = /^(CALYPSO_|DYNAMODB_|TABLE_NAME$|PAYOUTS_|POLL_INTERVAL_MS$|LOCAL_DATA_DIR$)/;

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!FOREIGN_ENV.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

interface Banner {
  apiUrl: string;
  sandboxUrl: string;
  sandboxAdminUrl: string;
  dynamoPort: number;
  /** The lines under "Try it:". */
  example: string[];
}

function readBanner(output: string): Banner | undefined {
  if (!output.includes('Ctrl-C stops everything.')) return undefined;
  const api = /^ {2}API\s+(http:\/\/127\.0\.0\.1:\d+)\s*$/m.exec(output);
  const calypso = /^ {2}Calypso\s+(http:\/\/127\.0\.0\.1:\d+)\/\S*.*admin: (\S+?)\)/m.exec(output);
  const dynamo = /^ {2}DynamoDB Local\s+http:\/\/127\.0\.0\.1:(\d+)\s/m.exec(output);
  const tryIt = output.slice(output.indexOf('Try it:'), output.indexOf('Ctrl-C stops everything.'));
  if (!api || !calypso || !dynamo) throw new Error(`unexpected banner:\n${output}`);
  return {
    apiUrl: api[1]!,
    sandboxUrl: calypso[1]!,
    sandboxAdminUrl: calypso[2]!,
    dynamoPort: Number(dynamo[1]),
    example: tryIt
      .split('\n')
      .slice(1)
      .filter((line) => line.trim() !== ''),
  };
}

/** The printed curl command's parts: joined continuation lines, then its flags. */
function readCurlExample(lines: string[]) {
  const start = lines.findIndex((line) => line.includes('curl') && line.includes('-X POST'));
  let command = '';
  for (const line of lines.slice(start)) {
    const trimmed = line.trim();
    command += ` ${trimmed.replace(/\\$/, '')}`;
    if (!trimmed.endsWith('\\')) break;
  }
  const url = /-X POST (\S+)/.exec(command)?.[1];
  const headers: Record<string, string> = {};
  for (const [, single, double] of command.matchAll(/-H (?:'([^']*)'|"([^"]*)")/g)) {
    const header = (single ?? double)!.replace(
      '$(date +%s)',
      String(Math.floor(Date.now() / 1000)),
    );
    const colon = header.indexOf(':');
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  const body = /-d '([^']*)'/.exec(command)?.[1];
  if (!url || !body) throw new Error(`could not read the example command:\n${command}`);
  return { url, headers, body };
}

let stack: LongRunning | undefined;
let banner: Banner;
let workDir: string;
let apiPort: number;

function stackOutput(): string {
  return `--- stack output ---\n${stack?.output().slice(-6000) ?? ''}`;
}

async function cli(args: string[]) {
  const result = await runToEnd(process.execPath, [CLI, ...args, '--api-url', banner.apiUrl], {
    cwd: workDir,
    env: cleanEnv({}),
    timeoutMs: CLI_TIMEOUT_MS,
  });
  const transcript = `payouts ${args.join(' ')} → ${result.code ?? result.signal}\nstdout:\n${result.stdout.slice(-3000)}\nstderr:\n${result.stderr.slice(-3000)}`;
  return { ...result, transcript };
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'payouts-e2e-'));
  apiPort = await freePort();
  stack = startLongRunning('npm', ['start', '--', '--in-memory'], {
    cwd: ROOT,
    env: cleanEnv({
      PORT: String(apiPort),
      RECONCILE_INTERVAL_MS: '500',
      SANDBOX_SPEED: '20',
      LOG_LEVEL: 'WARN',
    }),
  });
  banner = await waitFor(
    () => {
      if (stack!.exit()) throw new Error(`the stack exited early\n${stackOutput()}`);
      return readBanner(stack!.output());
    },
    { timeoutMs: START_TIMEOUT_MS, intervalMs: 200, what: 'the banner', describe: stackOutput },
  );
}, START_TIMEOUT_MS + 10_000);

afterAll(async () => {
  // Whatever happened above: nothing of the stack outlives the test (java included).
  if (stack && !stack.exit()) {
    killGroup(stack.pid);
    await stack.exited;
  }
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('npm start -- --in-memory', () => {
  it('prints the API URL and an example that works', { timeout: 60_000 }, async () => {
    expect(banner.apiUrl).toBe(`http://127.0.0.1:${apiPort}`);
    expect(banner.sandboxAdminUrl).toBe(`${banner.sandboxUrl}/__sandbox`);

    const example = readCurlExample(banner.example);
    expect(example.url).toBe(`${banner.apiUrl}/payouts`);
    const created = await fetch(example.url, {
      method: 'POST',
      headers: example.headers,
      body: example.body,
      signal: AbortSignal.timeout(30_000),
    });
    const payout = (await created.json()) as { id: string; state: string };
    expect(created.status, JSON.stringify(payout)).toBe(202);
    expect(payout.id).toBeTruthy();

    // The next printed line: GET it until it completes.
    expect(banner.example.join('\n')).toContain(`curl -s ${banner.apiUrl}/payouts/<id>`);
    const done = await waitFor(
      async () => {
        const { body } = await getJson(`${banner.apiUrl}/payouts/${payout.id}`);
        return body.state === 'COMPLETED' ? body : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 250, what: 'the example payout to complete' },
    );
    expect(done).toMatchObject({ recipientCount: 1, withdrawalCounts: { COMPLETED: 1 } });
  });

  it(
    'pays 250 BTC recipients from a CSV with the CLI, watched to completion and exported',
    { timeout: 180_000 },
    async () => {
      const name = `e2e ${randomUUID()}`;
      const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({
        address: btcAddress(`e2e-${i}`),
        // Up to BTC's 8 decimals, every amount different.
        amount: `0.${String(10_000 + i * 37).padStart(8, '0')}`,
        externalId: `e2e-${i}`,
      }));
      const csv = ['address,amount,externalId']
        .concat(recipients.map((r) => `${r.address},${r.amount},${r.externalId}`))
        .join('\n');
      await writeFile(join(workDir, 'recipients.csv'), `${csv}\n`);

      const create = await cli([
        'create',
        '--currency',
        'BTC',
        '--name',
        name,
        '--file',
        'recipients.csv',
      ]);
      expect(create.code, create.transcript).toBe(0);
      expect(create.stdout).toContain('Payout accepted.');
      const id = /Follow it with: payouts get (\S+) --watch/.exec(create.stdout)?.[1];
      expect(id, create.transcript).toBeTruthy();

      const watch = await cli(['get', id!, '--watch', '--interval', '500']);
      expect(watch.code, watch.transcript).toBe(0);
      expect(watch.stdout).toContain(`Payout ${id} completed: every payment was made.`);

      const { body: payout } = await getJson(`${banner.apiUrl}/payouts/${id}`);
      expect(payout).toMatchObject({
        state: 'COMPLETED',
        currency: 'BTC',
        name,
        recipientCount: RECIPIENTS,
        withdrawalCounts: { COMPLETED: RECIPIENTS },
      });
      // BTC's limit of 100 recipients per mass payout: three batches.
      expect(payout.batches.map((b: { recipientCount: number }) => b.recipientCount)).toEqual([
        100, 100, 50,
      ]);
      const total = Decimal.sum(recipients.map((r) => Decimal.parse(r.amount)));
      expect(Decimal.parse(payout.total).equals(total)).toBe(true);

      const exported = await cli(['withdrawals', id!, '--csv']);
      expect(exported.code, exported.transcript).toBe(0);
      const { records, problems } = readCsv(exported.stdout);
      expect(problems).toEqual([]);
      const [header, ...rows] = records.map((r) => r.fields);
      expect(header).toEqual([
        'index',
        'address',
        'amount',
        'externalId',
        'state',
        'transactionHash',
        'fee',
        'reason',
      ]);
      expect(rows).toHaveLength(RECIPIENTS);
      const column = (name: string) => header!.indexOf(name);
      const byExternalId = new Map(rows.map((row) => [row[column('externalId')]!, row]));
      expect(byExternalId.size).toBe(RECIPIENTS);
      const hashes = new Set<string>();
      for (const recipient of recipients) {
        const row = byExternalId.get(recipient.externalId);
        expect(row, recipient.externalId).toBeDefined();
        expect(row![column('address')]).toBe(recipient.address);
        expect(Decimal.parse(row![column('amount')]!).equals(Decimal.parse(recipient.amount))).toBe(
          true,
        );
        expect(row![column('state')]).toBe('COMPLETED');
        expect(row![column('transactionHash')]).toMatch(/^[0-9a-f]{64}$/);
        expect(Decimal.parse(row![column('fee')]!).isPositive()).toBe(true);
        hashes.add(row![column('transactionHash')]!);
      }
      expect(hashes.size).toBe(RECIPIENTS);

      // At Calypso (the sandbox): three mass payouts for these recipients, each paid once.
      const { body: massPayouts } = await getJson(`${banner.sandboxAdminUrl}/mass-payouts`);
      const addresses = new Set(recipients.map((r) => r.address));
      const ours = massPayouts.massPayouts as {
        idempotencyKey: string;
        state: string;
        withdrawals: { depositAddress: string }[];
      }[];
      const paying = ours.filter((p) => p.withdrawals.some((w) => addresses.has(w.depositAddress)));
      expect(paying.map((p) => p.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
      expect(new Set(paying.map((p) => p.idempotencyKey)).size).toBe(3);
      const paid = paying.flatMap((p) => p.withdrawals.map((w) => w.depositAddress));
      expect(paid).toHaveLength(RECIPIENTS);
      expect(new Set(paid)).toEqual(addresses);
    },
  );

  it('stops cleanly on SIGINT, DynamoDB Local with it', { timeout: 60_000 }, async () => {
    const running = stack!;
    // The stack's own process (under npm, sh and tsx) and the JVM it started.
    const tree = await descendants(running.pid);
    const stackProcess = tree
      .filter((p) => p.args.includes('infra/local/start.ts'))
      .find((p) => !tree.some((c) => c.ppid === p.pid && c.args.includes('infra/local/start.ts')));
    const java = tree.find((p) => p.args.includes('DynamoDBLocal.jar'));
    expect(stackProcess, JSON.stringify(tree)).toBeDefined();
    expect(java, JSON.stringify(tree)).toBeDefined();
    expect(java!.ppid).toBe(stackProcess!.pid);
    expect(await isListening(banner.dynamoPort)).toBe(true);

    // SIGINT to the stack's process alone. (A terminal's Ctrl-C signals the whole process group:
    // the JVM would then die of its own SIGINT, and npm's `sh -c` ends by the signal rather
    // than with the stack's exit status.) Here only the stack's shutdown can stop the JVM.
    process.kill(stackProcess!.pid, 'SIGINT');
    const exit = await running.exited;

    expect(exit, stackOutput()).toEqual({ code: 0, signal: null });
    expect(running.output()).toMatch(/SIGINT: stopping\.\.\.\s+stopped\./);
    expect(await isAlive(java!.pid)).toBe(false);
    expect(await isListening(banner.dynamoPort)).toBe(false);
    expect(await isListening(apiPort)).toBe(false);
    expect(await isListening(Number(new URL(banner.sandboxUrl).port))).toBe(false);
    // Nothing started under npm is left (the JVM was in the same process group).
    expect(await groupMembers(running.pid)).toEqual([]);
  });
});
