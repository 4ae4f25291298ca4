/**
 * The payouts CLI against a fake payouts API on 127.0.0.1: each test scripts the API's answers
 * and checks both what the CLI sent and what it printed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../cli/api.js';
import { processIo, type CliIo } from '../../cli/context.js';
import { readCsv } from '../../cli/csv.js';
import { defaultIdempotencyKey } from '../../cli/idempotency.js';
import { main } from '../../cli/payouts.js';
import { createSigV4Signer } from '../../cli/sigv4.js';

const BTC1 = '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa';
const BTC2 = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';
const PAYOUT_ID = '0b7f3c1e-8d3a-4e52-9c1b-2f0d6a7e9b10';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
}

interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  problem?: boolean;
}

type Handler = (request: Seen) => Reply;

class FakeApi {
  readonly requests: Seen[] = [];
  handler: Handler = () => ({
    status: 404,
    problem: true,
    body: { title: 'Not found', status: 404 },
  });
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const raw = Buffer.concat(chunks).toString('utf8');
        const seen: Seen = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body: raw ? (JSON.parse(raw) as unknown) : undefined,
        };
        this.requests.push(seen);
        const reply = this.handler(seen);
        const status = reply.status ?? 200;
        const correlationId = (req.headers['x-correlation-id'] as string | undefined) ?? 'none';
        const body =
          reply.problem && typeof reply.body === 'object'
            ? { ...(reply.body as object), correlationId }
            : reply.body;
        res.writeHead(status, {
          'content-type': reply.problem ? 'application/problem+json' : 'application/json',
          'x-correlation-id': correlationId,
          ...reply.headers,
        });
        res.end(body === undefined ? '' : JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.requests.length = 0;
    this.handler = () => ({
      status: 500,
      body: { title: 'unscripted', status: 500 },
      problem: true,
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function payoutView(overrides: Record<string, unknown> = {}) {
  return {
    id: PAYOUT_ID,
    state: 'ACCEPTED',
    currency: 'BTC',
    name: 'March',
    comment: null,
    executionDate: null,
    recipientCount: 3,
    total: '1.75',
    totalFee: null,
    withdrawalCounts: { PENDING: 3 },
    batches: [],
    stuck: false,
    retryOf: null,
    retriedBy: [],
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:00:00.000Z',
    ...overrides,
  };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  sleeps: number[];
}

const api = new FakeApi();
let dir: string;

async function run(
  args: string[],
  options: {
    tty?: boolean;
    stderrTty?: boolean;
    columns?: number;
    env?: Record<string, string>;
    /** Standard input is a terminal, and these lines are typed (then the end of input). */
    typed?: string[];
  } = {},
): Promise<Run> {
  const out = { stdout: '', stderr: '', sleeps: [] as number[] };
  const typed = [...(options.typed ?? [])];
  const io: CliIo = {
    stdout: {
      write: (t: string) => (out.stdout += t),
      isTTY: options.tty ?? false,
      columns: options.columns ?? 100,
    },
    stderr: { write: (t: string) => (out.stderr += t), isTTY: options.stderrTty ?? false },
    ...(options.typed
      ? { stdin: { isTTY: true, readLine: () => Promise.resolve(typed.shift()) } }
      : {}),
    env: { ...options.env },
    readText: processIo().readText,
    now: () => new Date('2030-01-01T12:00:00Z'),
    sleep: (ms) => {
      out.sleeps.push(ms);
      return Promise.resolve();
    },
  };
  const code = await main(['--api-url', api.url, ...args], io);
  return { code, ...out };
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

beforeAll(async () => {
  await api.start();
  dir = await mkdtemp(join(tmpdir(), 'payouts-cli-'));
});

afterAll(async () => {
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => api.reset());

/** `payouts create` of the March payout from `path`. */
const create = (path: string, ...more: string[]) => [
  'create',
  '--currency',
  'BTC',
  '--name',
  'March',
  '--file',
  path,
  ...more,
];

const CSV = `address,amount,externalId\r\n${BTC1},0.5,inv-1\r\n${BTC2},"1.25",\r\n${BTC1},0,inv-3\r\n`;
const GOOD_CSV = `\uFEFFaddress,amount,externalId\r\n${BTC1},0.5,inv-1\r\n${BTC2},"1.25",\r\n`;

describe('payouts create', () => {
  it('sends the recipients with a derived idempotency key, and is safe to run again', async () => {
    const path = await file('good.csv', GOOD_CSV);
    const accepted = new Map<string, number>();
    api.handler = (req) => {
      const key = req.headers['idempotency-key'] as string;
      const repeat = accepted.has(key);
      accepted.set(key, 1);
      return { status: repeat ? 200 : 202, body: payoutView({ recipientCount: 2 }) };
    };

    const first = await run([
      'create',
      '--currency',
      'btc',
      '--name',
      ' March ',
      '--file',
      path,
      '--caller',
      'team-a',
    ]);
    // Said once: the BOM at the start of the file.
    expect(first.stderr).toBe(`${path}: starts with a UTF-8 byte order mark (ignored)\n`);
    expect(first.code).toBe(0);
    const request = api.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/payouts');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-caller-id']).toBe('team-a');
    expect(request.body).toEqual({
      currency: 'BTC',
      name: 'March',
      recipients: [
        { address: BTC1, amount: '0.5', externalId: 'inv-1' },
        { address: BTC2, amount: '1.25' },
      ],
    });
    const key = defaultIdempotencyKey(request.body as Parameters<typeof defaultIdempotencyKey>[0]);
    expect(request.headers['idempotency-key']).toBe(key);
    expect(first.stdout).toContain(`Idempotency key: ${key} (derived from the request`);
    expect(first.stdout).toContain('Payout accepted.');
    expect(first.stdout).toMatch(new RegExp(`payout +${PAYOUT_ID}`));
    expect(first.stdout).toMatch(/state +ACCEPTED/);
    expect(first.stdout).toContain(`payouts get ${PAYOUT_ID} --watch`);

    const again = await run([
      'create',
      '--currency',
      'BTC',
      '--name',
      'March',
      '--file',
      path,
      '--caller',
      'team-a',
    ]);
    expect(again.code).toBe(0);
    expect(api.requests[1]!.headers['idempotency-key']).toBe(key);
    expect(again.stdout).toContain('already accepted earlier with the same idempotency key');
  });

  it('takes JSON, a given key, a comment and an execution date; --json prints the payout', async () => {
    const path = await file(
      'r.json',
      JSON.stringify({ recipients: [{ address: BTC1, amount: '2.000' }] }),
    );
    api.handler = () => ({ status: 202, body: payoutView() });
    const result = await run([
      'create',
      '--currency=BTC',
      '--name=April',
      `--file=${path}`,
      '--comment',
      'bonus',
      '--execution-date',
      '2030-02-01T00:00:00Z',
      '--idempotency-key',
      'my-key-0001',
      '--json',
    ]);
    expect(result.code).toBe(0);
    expect(api.requests[0]!.headers['idempotency-key']).toBe('my-key-0001');
    expect(api.requests[0]!.body).toEqual({
      currency: 'BTC',
      name: 'April',
      comment: 'bonus',
      executionDate: '2030-02-01T00:00:00Z',
      recipients: [{ address: BTC1, amount: '2.000' }],
    });
    expect(JSON.parse(result.stdout)).toEqual(payoutView());
    expect(result.stderr).toBe('{"note":"Idempotency key: my-key-0001"}\n');
  });

  it('reports file problems by line and sends nothing', async () => {
    const path = await file('bad.csv', CSV);
    const result = await run(['create', '--currency', 'BTC', '--name', 'March', '--file', path]);
    expect(result.code).toBe(2);
    expect(api.requests).toEqual([]);
    expect(result.stderr).toBe(
      `${path}:4: amount "0" must be greater than 0\n${path}: 1 problem; nothing was sent\n`,
    );
  });

  it('reads a semicolon file from a European spreadsheet, decimal commas exactly', async () => {
    const path = await file(
      'europe.csv',
      `\uFEFFaddress;amount;externalId\r\n${BTC1};0,5;inv-1\r\n${BTC2};1,25;\r\n`,
    );
    api.handler = () => ({ status: 202, body: payoutView({ recipientCount: 2 }) });
    const result = await run(['create', '--currency', 'BTC', '--name', 'March', '--file', path]);
    expect(result.code).toBe(0);
    expect((api.requests[0]!.body as { recipients: unknown }).recipients).toEqual([
      { address: BTC1, amount: '0.5', externalId: 'inv-1' },
      { address: BTC2, amount: '1.25' },
    ]);
    // The same recipients as GOOD_CSV, so the same derived key: the file's form does not matter.
    const fromCommaFile = defaultIdempotencyKey({
      currency: 'BTC',
      name: 'March',
      recipients: [
        { address: BTC1, amount: '0.5', externalId: 'inv-1' },
        { address: BTC2, amount: '1.25' },
      ],
    });
    expect(api.requests[0]!.headers['idempotency-key']).toBe(fromCommaFile);
    expect(result.stderr).toBe(
      [
        `${path}: starts with a UTF-8 byte order mark (ignored)`,
        `${path}: columns separated by semicolons`,
        `${path}: 2 amounts with a decimal comma read as exact decimals (line 2: 0,5 is 0.5)`,
        '',
      ].join('\n'),
    );
  });

  it('refuses an ambiguous amount in a semicolon file, by line, with exit 2', async () => {
    const path = await file('ambiguous.csv', `address;amount\n${BTC1};1.234,5\n${BTC2};2,5\n`);
    const result = await run(['create', '--currency', 'BTC', '--name', 'March', '--file', path]);
    expect(result.code).toBe(2);
    expect(api.requests).toEqual([]);
    expect(result.stderr).toContain(
      `${path}:2: amount "1.234,5" has both a dot and a comma, so one of them may group thousands`,
    );
    expect(result.stderr).toContain(`${path}: 1 problem; nothing was sent`);
  });

  it('maps the API field errors back to the lines of the file', async () => {
    const lines = ['address,amount,externalId'];
    for (let i = 0; i < 15; i++) lines.push(`${BTC1},0.${i + 1},id-${i}`);
    const path = await file('many.csv', `${lines.join('\n')}\n`);
    api.handler = () => ({
      status: 422,
      problem: true,
      body: {
        type: 'https://errors.payouts.internal/validation',
        title: 'The request has invalid fields',
        status: 422,
        detail: '2 fields failed validation',
        errors: [
          { path: '$.currency', message: 'is not a supported currency; use one of BTC, ETH' },
          {
            path: '$.recipients[12].amount',
            message: 'has 2 decimals; this currency allows at most 1',
          },
        ],
      },
    });
    const result = await run(['create', '--currency', 'XYZ', '--name', 'March', '--file', path]);
    expect(result.code).toBe(3);
    const correlationId = api.requests[0]!.headers['x-correlation-id'];
    expect(result.stderr).toBe(
      [
        '422 The request has invalid fields',
        '  2 fields failed validation',
        '  $.currency: is not a supported currency; use one of BTC, ETH',
        `  ${path}:14: amount "0.13" has 2 decimals; this currency allows at most 1 ($.recipients[12].amount)`,
        `  POST ${api.url}/payouts`,
        `  correlation id: ${correlationId}`,
        '',
      ].join('\n'),
    );
  });

  it('waits out "still being processed" and retries the same request', async () => {
    const path = await file('good2.csv', GOOD_CSV);
    let calls = 0;
    api.handler = () =>
      ++calls === 1
        ? {
            status: 409,
            problem: true,
            headers: { 'retry-after': '1' },
            body: {
              title: 'The first request with this Idempotency-Key is still being processed',
              status: 409,
            },
          }
        : { status: 200, body: payoutView() };
    const result = await run(['create', '--currency', 'BTC', '--name', 'March', '--file', path]);
    expect(result.code).toBe(0);
    expect(result.sleeps).toEqual([1000]);
    expect(api.requests.map((r) => r.headers['idempotency-key'])).toEqual([
      api.requests[0]!.headers['idempotency-key'],
      api.requests[0]!.headers['idempotency-key'],
    ]);
  });

  it('--dry-run shows the plan and whether the balance covers it', async () => {
    const path = await file('dry.csv', GOOD_CSV);
    api.handler = () => ({
      body: {
        dryRun: true,
        currency: 'BTC',
        recipientCount: 2,
        total: '1.75',
        batches: [{ index: 0, kind: 'mass', recipientCount: 2, total: '1.75' }],
        balance: { available: '1.5', covers: false },
        funds: {
          feePercentage: '1',
          feeSource: 'default',
          marginPercent: '0',
          coins: [{ currency: 'BTC', needed: '1.7685', available: '1.5', covers: false }],
        },
      },
    });
    const result = await run([
      'create',
      '--currency',
      'BTC',
      '--name',
      'March',
      '--file',
      path,
      '--dry-run',
    ]);
    expect(result.code).toBe(0);
    expect(api.requests[0]!.query.get('dryRun')).toBe('true');
    expect(result.stdout).toContain('Dry run: the request is valid; nothing was created.');
    expect(result.stdout).toMatch(/batches +#0: 2 recipients, 1\.75 BTC/);
    expect(result.stdout).toMatch(
      /needs BTC +1\.7685 BTC: NOT covered, short by 0\.2685 BTC \(it would wait in AWAITING_FUNDS\)/,
    );
    expect(result.stdout).toMatch(
      /balance +1\.5 BTC available: does NOT cover the payout and its fees/,
    );
  });

  it('refuses a bad command line with exit 2', async () => {
    expect((await run(['create', '--currency', 'BTC', '--file', 'x.csv'])).stderr).toContain(
      'create needs --name',
    );
    expect(
      (await run(['create', '--currency', 'BTC', '--name', 'n', '--file', 'x', '--watch'])).code,
    ).toBe(2);
    expect((await run(['launch'])).stderr).toContain('unknown command "launch"');
    expect(
      (
        await run([
          'create',
          '--currency',
          'BTC',
          '--name',
          'n',
          '--file',
          'x',
          '--idempotency-key',
          'short',
        ])
      ).code,
    ).toBe(2);
    expect(api.requests).toEqual([]);
  });
});

describe('payouts create on a terminal: the summary, then the question', () => {
  const dryRun = {
    dryRun: true,
    currency: 'BTC',
    recipientCount: 2,
    total: '1.75',
    approvalsRequired: 2,
    batches: [{ index: 0, kind: 'mass', recipientCount: 2, total: '1.75' }],
    balance: { available: '2.000000000000000001', covers: true },
    funds: {
      feePercentage: '0.5',
      feeSource: 'observed',
      marginPercent: '25',
      coins: [
        { currency: 'BTC', needed: '1.7619375', available: '2.000000000000000001', covers: true },
      ],
    },
  };
  const scripted = (req: Seen): Reply =>
    req.query.get('dryRun') === 'true'
      ? { body: dryRun }
      : { status: 202, body: payoutView({ recipientCount: 2, state: 'PENDING_APPROVAL' }) };

  it('shows recipients, total, fees, balance before and after, approvals; "y" creates it', async () => {
    const path = await file('confirm.csv', GOOD_CSV);
    api.handler = scripted;
    const result = await run(create(path), { tty: true, typed: ['y'] });
    expect(result.code).toBe(0);
    expect(api.requests.map((r) => r.query.get('dryRun'))).toEqual(['true', null]);
    // The dry run and the payout are the same request under the same key.
    expect(api.requests[1]!.body).toEqual(api.requests[0]!.body);
    expect(api.requests[1]!.headers['idempotency-key']).toBe(
      api.requests[0]!.headers['idempotency-key'],
    );
    const [summary, after] = result.stdout.split('Create this payout? [y/N] ');
    expect(summary).toBe(
      [
        'About to create this payout:',
        '  name           March',
        '  recipients     2',
        '  total          1.75 BTC',
        '  batches        #0: 2 recipients, 1.75 BTC',
        '  fees           estimated: Calypso 0.5% (as on its last payout) + 25% margin, and the network fee',
        '  needs BTC      1.7619375 BTC: covered (2.000000000000000001 held)',
        '  balance        2.000000000000000001 BTC available: covers the payout and its fees',
        '  balance after  0.238062500000000001 BTC (after estimated fees)',
        '  approval       needed: 2 approvals before anything is sent (PENDING_APPROVAL)',
        '',
      ].join('\n'),
    );
    expect(after).toContain('Payout accepted.');
    expect(after).toMatch(/state +PENDING_APPROVAL/);
  });

  it('anything but yes, or the end of input, sends nothing and exits 6', async () => {
    const path = await file('decline.csv', GOOD_CSV);
    for (const typed of [['n'], [''], ['yep'], []]) {
      api.reset();
      api.handler = scripted;
      const result = await run(create(path), { tty: true, typed });
      expect(result.code).toBe(6);
      expect(api.requests.map((r) => r.query.get('dryRun'))).toEqual(['true']);
      expect(result.stdout).toContain('Create this payout? [y/N] ');
      expect(result.stdout).not.toContain('Payout accepted');
      expect(result.stderr.split('\n').slice(-2)).toEqual(['Not confirmed: nothing was sent.', '']);
    }
  });

  it('a balance short of the total says so, exactly', async () => {
    const path = await file('short.csv', GOOD_CSV);
    api.handler = (req) =>
      req.query.get('dryRun') === 'true'
        ? {
            body: {
              ...dryRun,
              approvalsRequired: 0,
              balance: { available: '1.7', covers: false },
              funds: {
                ...dryRun.funds,
                coins: [{ currency: 'BTC', needed: '1.7619375', available: '1.7', covers: false }],
              },
            },
          }
        : { status: 202, body: payoutView() };
    const result = await run(create(path), { tty: true, typed: ['YES'] });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /balance after +-0\.0619375 BTC: the balance does not cover the payout and its fees\n/,
    );
    expect(result.stdout).toMatch(/approval +not needed: it is sent once accepted\n/);
    expect(api.requests).toHaveLength(2);
  });

  it('--yes shows the summary and does not ask', async () => {
    const path = await file('yes.csv', GOOD_CSV);
    api.handler = scripted;
    const result = await run(create(path, '--yes'), { tty: true, typed: ['n'] });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('About to create this payout:');
    expect(result.stdout).not.toContain('[y/N]');
    expect(api.requests.map((r) => r.query.get('dryRun'))).toEqual(['true', null]);
  });

  it('never asks with --json, nor when stdin or stdout is not a terminal', async () => {
    const path = await file('noask.csv', GOOD_CSV);
    api.handler = scripted;
    const json = await run(create(path, '--json'), { tty: true, typed: ['n'] });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: PAYOUT_ID });
    expect(api.requests.map((r) => r.query.get('dryRun'))).toEqual([null]);

    api.reset();
    api.handler = scripted;
    // Output to a terminal, input from a pipe: the summary, no question.
    const piped = await run(create(path), { tty: true });
    expect(piped.code).toBe(0);
    expect(piped.stdout).toContain('About to create this payout:');
    expect(piped.stdout).not.toContain('[y/N]');

    api.reset();
    api.handler = scripted;
    // Output to a file: as before, one request.
    const script = await run(create(path), { typed: ['n'] });
    expect(script.code).toBe(0);
    expect(script.stdout).not.toContain('About to create');
    expect(api.requests.map((r) => r.query.get('dryRun'))).toEqual([null]);
  });

  it('recipients from standard input on a terminal need --yes', async () => {
    const result = await run(['create', '--currency', 'BTC', '--name', 'M', '--file', '-'], {
      tty: true,
      typed: ['y'],
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('add --yes');
    expect(api.requests).toEqual([]);
  });

  it.skipIf(!existsSync('/usr/bin/script'))(
    'asks on a real pseudo-terminal, and "n" sends nothing (util-linux script)',
    async () => {
      const path = await file('pty.csv', GOOD_CSV);
      api.handler = scripted;
      const command = [process.execPath, join(ROOT, 'bin/payouts.mjs'), ...create(path)]
        .concat(['--api-url', api.url])
        .map((a) => `'${a.replaceAll("'", `'\\''`)}'`)
        .join(' ');
      const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], {
        cwd: tmpdir(),
        env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', TERM: 'dumb' },
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => {
        output += c.toString();
        if (output.includes('[y/N]')) child.stdin.end('n\n');
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(output).toContain('About to create this payout:');
      expect(output).toContain('Not confirmed: nothing was sent.');
      expect(code).toBe(6);
      expect(api.requests.map((r) => r.query.get('dryRun'))).toEqual(['true']);
    },
  );
});

describe('payouts get', () => {
  it('prints state, totals and counts; problem+json when it does not exist', async () => {
    api.handler = (req) =>
      req.path === `/payouts/${PAYOUT_ID}`
        ? {
            body: payoutView({
              state: 'IN_PROGRESS',
              totalFee: '0.0001',
              withdrawalCounts: { COMPLETED: 1, IN_PROGRESS: 2 },
            }),
          }
        : {
            status: 404,
            problem: true,
            body: {
              type: 'x',
              title: 'Not found',
              status: 404,
              detail: 'payout "nope" does not exist',
            },
          };
    const found = await run(['get', PAYOUT_ID]);
    expect(found.code).toBe(0);
    expect(found.stdout).toMatch(/state +IN_PROGRESS/);
    expect(found.stdout).toMatch(/total +1\.75 BTC/);
    expect(found.stdout).toMatch(/fees +0\.0001 BTC/);
    expect(found.stdout).toMatch(/withdrawals +COMPLETED 1 · IN_PROGRESS 2/);

    const missing = await run(['get', 'nope']);
    expect(missing.code).toBe(3);
    expect(missing.stderr.split('\n').slice(0, 3)).toEqual([
      '404 Not found',
      '  payout "nope" does not exist',
      `  GET ${api.url}/payouts/nope`,
    ]);
    expect(missing.stderr).toMatch(/correlation id: [0-9a-f-]{36}/);
  });

  /** A payout that moves one step further on every look. */
  function advancing(steps: Record<string, unknown>[]): Handler {
    let at = 0;
    return () => ({ body: payoutView(steps[Math.min(at++, steps.length - 1)]) });
  }

  const TO_COMPLETION = [
    { state: 'ACCEPTED', withdrawalCounts: { PENDING: 3 } },
    { state: 'ACCEPTED', withdrawalCounts: { PENDING: 3 } },
    { state: 'SUBMITTED', withdrawalCounts: { PENDING: 3 } },
    { state: 'IN_PROGRESS', withdrawalCounts: { IN_PROGRESS: 2, PENDING: 1 } },
    { state: 'IN_PROGRESS', withdrawalCounts: { COMPLETED: 2, IN_PROGRESS: 1 } },
    { state: 'COMPLETED', withdrawalCounts: { COMPLETED: 3 }, totalFee: '0.0003' },
  ];

  it('--watch prints one line per change until COMPLETED, then exits 0', async () => {
    api.handler = advancing(TO_COMPLETION);
    const result = await run(['get', PAYOUT_ID, '--watch', '--interval', '50']);
    expect(result.code).toBe(0);
    expect(api.requests).toHaveLength(6);
    expect(result.sleeps).toEqual([50, 50, 50, 50, 50]);
    const progress = result.stdout.split('\n').filter((l) => l.startsWith('12:00:00 '));
    expect(progress).toEqual([
      '12:00:00 [........................................]   0% 0/3 final · PENDING 3 · ACCEPTED',
      '12:00:00 [........................................]   0% 0/3 final · PENDING 3 · SUBMITTED',
      `12:00:00 [${'>'.repeat(27)}${'.'.repeat(13)}]   0% 0/3 final · IN_PROGRESS 2 · PENDING 1 · IN_PROGRESS`,
      `12:00:00 [${'#'.repeat(27)}${'>'.repeat(13)}]  66% 2/3 final · COMPLETED 2 · IN_PROGRESS 1 · IN_PROGRESS`,
      '12:00:00 [########################################] 100% 3/3 final · COMPLETED 3 · COMPLETED',
    ]);
    expect(result.stdout).toMatch(/fees +0\.0003 BTC/);
    expect(result.stdout).toContain(`Payout ${PAYOUT_ID} completed: every payment was made.`);
    expect(result.stdout).not.toContain('\x1b');
  });

  it('--watch redraws in place on a terminal, and exits 5 when the payout ends with failures', async () => {
    api.handler = advancing([
      { state: 'IN_PROGRESS', withdrawalCounts: { IN_PROGRESS: 3 } },
      { state: 'COMPLETED_WITH_FAILURES', withdrawalCounts: { COMPLETED: 2, FAILED: 1 } },
    ]);
    const result = await run(['get', PAYOUT_ID, '-w', '--interval', '10'], {
      tty: true,
      columns: 80,
      env: { NO_COLOR: '1' },
    });
    expect(result.code).toBe(5);
    const [bar, ...rest] = result.stdout.split('\n');
    const frames = bar!.split('\r\x1b[2K').filter(Boolean);
    expect(frames).toHaveLength(2);
    for (const frame of frames) expect(frame.length).toBeLessThan(80);
    expect(frames[1]).toMatch(
      /^\[#+x+\] 100% 3\/3 final · COMPLETED 2 · FAILED 1 · COMPLETED_WITH_FAILURES$/,
    );
    const text = rest.join('\n');
    expect(text).toContain(`ended COMPLETED_WITH_FAILURES: 1 payment failed.`);
    expect(text).toContain(`payouts retry-failed ${PAYOUT_ID}`);
  });

  it('--watch rides out a failing poll, and gives up on a refusal', async () => {
    let n = 0;
    api.handler = () => {
      n += 1;
      if (n === 2)
        return { status: 500, problem: true, body: { title: 'Internal error', status: 500 } };
      return {
        body: payoutView(n >= 3 ? { state: 'CANCELED', withdrawalCounts: { CANCELED: 3 } } : {}),
      };
    };
    const result = await run(['get', PAYOUT_ID, '--watch', '--interval', '10']);
    expect(result.code).toBe(5);
    expect(result.stderr).toBe('500 Internal error (attempt 1 of 5; still watching)\n');
    expect(result.stdout).toContain(`Payout ${PAYOUT_ID} ended CANCELED.`);

    api.handler = () => ({ status: 403, problem: true, body: { title: 'Forbidden', status: 403 } });
    const refused = await run(['get', PAYOUT_ID, '--watch', '--interval', '10']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^403 Forbidden\n/);
  });

  it('--watch --json writes one JSON line per change', async () => {
    api.handler = advancing(TO_COMPLETION);
    const result = await run(['get', PAYOUT_ID, '--watch', '--interval', '10', '--json']);
    expect(result.code).toBe(0);
    const states = result.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { state: string }).state);
    expect(states).toEqual(['ACCEPTED', 'SUBMITTED', 'IN_PROGRESS', 'IN_PROGRESS', 'COMPLETED']);
  });

  it('--watch --json says a failing poll as a JSON note on stderr', async () => {
    // The first poll must succeed before failures are ridden out.
    const steps: Reply[] = [
      { body: payoutView() },
      { status: 500, problem: true, body: { title: 'Internal error', status: 500 } },
      { body: payoutView({ state: 'COMPLETED', withdrawalCounts: { COMPLETED: 3 } }) },
    ];
    let n = 0;
    api.handler = () => steps[Math.min(n++, steps.length - 1)]!;
    const result = await run(['get', PAYOUT_ID, '--watch', '--interval', '10', '--json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      `${JSON.stringify({ note: '500 Internal error (attempt 1 of 5; still watching)' })}\n`,
    );
  });
});

describe('payouts withdrawals', () => {
  const all = Array.from({ length: 7 }, (_, i) => ({
    payoutId: PAYOUT_ID,
    index: i,
    batchIndex: 0,
    address: i % 2 ? BTC2 : BTC1,
    amount: `0.${i + 1}`,
    currency: 'BTC',
    externalId: i === 3 ? 'inv, "quoted"' : i === 4 ? null : `inv-${i}`,
    state: i === 5 ? 'FAILED' : 'COMPLETED',
    calypsoWithdrawalId: `w-${i}`,
    transactionHash: i === 5 ? null : `tx${i}`,
    fee: i === 5 ? null : '0.0001',
    errors:
      i === 5
        ? [
            { status: 'INSUFFICIENT_FUNDS', resolved: true, at: '2030-01-01T00:00:00.000Z' },
            {
              status: 'AML_REJECTED',
              message: 'address flagged',
              resolved: false,
              at: '2030-01-01T00:00:00.000Z',
            },
          ]
        : [],
    updatedAt: '2030-01-01T00:00:00.000Z',
  }));

  /** Pages of three, the cursor being the next index. */
  function paged(req: Seen): Reply {
    const state = req.query.get('state');
    const items = all.filter((w) => !state || w.state === state);
    const from = Number(req.query.get('cursor') ?? '0');
    const next = from + 3 < items.length ? String(from + 3) : null;
    return { body: { items: items.slice(from, from + 3), cursor: next } };
  }

  it('--csv pages through every withdrawal with the cursor', async () => {
    api.handler = paged;
    const result = await run(['withdrawals', PAYOUT_ID, '--csv']);
    expect(result.code).toBe(0);
    expect(api.requests.map((r) => [r.path, r.query.get('cursor'), r.query.get('limit')])).toEqual([
      [`/payouts/${PAYOUT_ID}/withdrawals`, null, '500'],
      [`/payouts/${PAYOUT_ID}/withdrawals`, '3', '500'],
      [`/payouts/${PAYOUT_ID}/withdrawals`, '6', '500'],
    ]);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('index,address,amount,externalId,state,transactionHash,fee,reason');
    expect(lines[1]).toBe(`0,${BTC1},0.1,inv-0,COMPLETED,tx0,0.0001,`);
    expect(lines[4]).toBe(`3,${BTC2},0.4,"inv, ""quoted""",COMPLETED,tx3,0.0001,`);
    expect(lines[5]).toBe(`4,${BTC1},0.5,,COMPLETED,tx4,0.0001,`);
    // Why it failed: the error that still stands, not the one Calypso resolved.
    expect(lines[6]).toBe(`5,${BTC2},0.6,inv-5,FAILED,,,AML_REJECTED: address flagged`);
    const parsed = readCsv(result.stdout).records.slice(1);
    expect(parsed.map((r) => r.fields[3])).toEqual(all.map((w) => w.externalId ?? ''));
    expect(parsed.map((r) => r.fields[2])).toEqual(all.map((w) => w.amount));
  });

  it('--state filters; the table lists every row and a count', async () => {
    api.handler = paged;
    const result = await run(['withdrawals', PAYOUT_ID, '--state', 'failed']);
    expect(result.code).toBe(0);
    expect(api.requests[0]!.query.get('state')).toBe('FAILED');
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^index +state +amount +address +externalId +transactionHash +fee +reason$/,
    );
    expect(lines[1]).toMatch(
      new RegExp(`^5 +FAILED +0\\.6 +${BTC2} +inv-5 +AML_REJECTED: address flagged$`),
    );
    expect(lines[2]).toBe('1 withdrawal in state FAILED');
  });

  it('the --state FAILED export goes back into create as it is', async () => {
    api.handler = paged;
    const exported = await run(['withdrawals', PAYOUT_ID, '--state', 'FAILED', '--csv']);
    expect(exported.code).toBe(0);
    const path = await file('failed.csv', exported.stdout);

    api.reset();
    api.handler = () => ({ status: 202, body: payoutView({ recipientCount: 1 }) });
    const result = await run([
      'create',
      '--currency',
      'BTC',
      '--name',
      'March again',
      '--file',
      path,
    ]);
    expect(result.code).toBe(0);
    expect(api.requests).toHaveLength(1);
    expect((api.requests[0]!.body as { recipients: unknown }).recipients).toEqual([
      { address: BTC2, amount: '0.6', externalId: 'inv-5' },
    ]);
    expect(result.stderr).toBe(
      `${path}: ignored columns index, state, transactionHash, fee, reason (only address, amount and externalId are read)\n`,
    );
  });

  it("the export of externalIds starting with = or - re-imports them intact, not with the '", async () => {
    const ids = ['=HYPERLINK("http://x.test")', '-inv-9', "'=own-quote"];
    const failed = ids.map((externalId, i) => ({
      ...all[5]!,
      index: i,
      address: i % 2 ? BTC2 : BTC1,
      amount: `0.0${i + 1}`,
      externalId,
    }));
    api.handler = () => ({ body: { items: failed, cursor: null } });
    const exported = await run(['withdrawals', PAYOUT_ID, '--state', 'FAILED', '--csv']);
    expect(exported.code).toBe(0);
    // Safe in a spreadsheet: every one of them is text there.
    expect(exported.stdout).toContain(`,"'=HYPERLINK(""http://x.test"")",`);
    expect(exported.stdout).toContain(`,'-inv-9,`);
    expect(exported.stdout).toContain(`,''=own-quote,`);
    const path = await file('failed-formulas.csv', exported.stdout);

    api.reset();
    api.handler = () => ({ status: 202, body: payoutView({ recipientCount: 3 }) });
    const result = await run(['create', '--currency', 'BTC', '--name', 'Again', '--file', path]);
    expect(result.code).toBe(0);
    expect((api.requests[0]!.body as { recipients: unknown }).recipients).toEqual([
      { address: BTC1, amount: '0.01', externalId: ids[0] },
      { address: BTC2, amount: '0.02', externalId: ids[1] },
      { address: BTC1, amount: '0.03', externalId: ids[2] },
    ]);
    expect(result.stderr).toContain(
      `${path}: 3 cells written spreadsheet-safe read without the leading '`,
    );
  });

  it('--external-id finds withdrawals across payouts', async () => {
    api.handler = (req) => ({
      body: {
        items: all.filter((w) => w.externalId === req.query.get('externalId')),
        cursor: null,
      },
    });
    const result = await run(['withdrawals', '--external-id', 'inv-2', '--json']);
    expect(result.code).toBe(0);
    expect(api.requests[0]!.path).toBe('/withdrawals');
    expect(JSON.parse(result.stdout)).toEqual([all[2]]);
  });

  it('stops on a cursor that repeats', async () => {
    api.handler = () => ({ body: { items: [all[0]], cursor: 'same' } });
    const result = await run(['withdrawals', PAYOUT_ID, '--csv']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('returned the same cursor twice');
    expect(api.requests).toHaveLength(2);
  });
});

describe('payouts list', () => {
  const summaries = Array.from({ length: 5 }, (_, i) => ({
    id: `0b7f3c1e-8d3a-4e52-9c1b-2f0d6a7e9b1${i}`,
    owner: 'team:payroll',
    createdBy: { principal: 'arn:aws:iam::111122223333:role/payroll-svc', session: null },
    state: i === 1 ? 'IN_PROGRESS' : 'COMPLETED',
    currency: 'BTC',
    name: `run-${i}`,
    recipientCount: i + 1,
    total: `0.${i + 1}`,
    stuck: i === 1,
    retryOf: null,
    createdAt: `2030-01-0${5 - i}T00:00:00.000Z`,
    updatedAt: '2030-01-06T00:00:00.000Z',
  }));

  /** Pages of at most two (or the limit asked, if fewer), the cursor being the next index. */
  function paged(req: Seen): Reply {
    const from = Number(req.query.get('cursor') ?? '0');
    const size = Math.min(2, Number(req.query.get('limit')));
    const next = from + size < summaries.length ? String(from + size) : null;
    return { body: { items: summaries.slice(from, from + size), cursor: next } };
  }

  it('pages through every payout with the cursor and prints a table and a count', async () => {
    api.handler = paged;
    const result = await run(['list']);
    expect(result.code).toBe(0);
    expect(api.requests.map((r) => [r.path, r.query.get('cursor')])).toEqual([
      ['/payouts', null],
      ['/payouts', '2'],
      ['/payouts', '4'],
    ]);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^payout +state +name +total +recipients +stuck +created$/);
    expect(lines).toHaveLength(7);
    expect(lines[2]).toMatch(
      /^0b7f3c1e-8d3a-4e52-9c1b-2f0d6a7e9b11 +IN_PROGRESS +run-1 +0\.2 BTC +2 +STUCK +2030-01-04T00:00:00\.000Z$/,
    );
    expect(lines[6]).toBe('5 payouts');
  });

  it('passes the filters on, and stops at --limit asking no more than it still wants', async () => {
    api.handler = paged;
    const result = await run([
      'list',
      '--state',
      'completed',
      '--stuck',
      '--created-after',
      '2030-01-01T00:00:00Z',
      '--limit',
      '3',
      '--json',
    ]);
    expect(result.code).toBe(0);
    const query = api.requests[0]!.query;
    expect(query.get('state')).toBe('COMPLETED');
    expect(query.get('stuck')).toBe('true');
    expect(query.get('createdAfter')).toBe('2030-01-01T00:00:00Z');
    expect(api.requests.map((r) => r.query.get('limit'))).toEqual(['3', '1']);
    expect(JSON.parse(result.stdout)).toEqual(summaries.slice(0, 3));
  });

  it.each([
    [['list', '--state', 'nope'], '--state is one of'],
    [['list', '--limit', '0'], '--limit is a whole number'],
    [['list', '--created-after', 'soon'], '--created-after is an ISO-8601 date-time'],
    [['list', 'extra'], 'list takes no arguments'],
  ])('refuses %j before calling the API', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(api.requests).toHaveLength(0);
  });
});

describe('payouts retry-failed, balances, events', () => {
  it('retry-failed posts with a key derived from the payout id', async () => {
    const retry = payoutView({
      id: 'f1e2d3c4-0000-4000-8000-000000000001',
      retryOf: PAYOUT_ID,
      name: 'March (retry)',
    });
    api.handler = () => ({ status: 202, body: retry });
    const result = await run(['retry-failed', PAYOUT_ID]);
    expect(result.code).toBe(0);
    expect(api.requests[0]!.method).toBe('POST');
    expect(api.requests[0]!.path).toBe(`/payouts/${PAYOUT_ID}/retry-failed`);
    expect(api.requests[0]!.headers['idempotency-key']).toBe(`retry-failed-${PAYOUT_ID}`);
    expect(result.stdout).toContain(`Retrying the failed payments of ${PAYOUT_ID} as a new payout`);
    expect(result.stdout).toMatch(/retry of +0b7f3c1e/);
  });

  it('retry-failed shows why it was refused, without waiting a long Retry-After', async () => {
    api.handler = () => ({
      status: 409,
      problem: true,
      headers: { 'retry-after': '60' },
      body: {
        title: 'The payout is not final yet',
        status: 409,
        detail:
          'the payout is IN_PROGRESS; failed payments can be retried once every payment is final',
      },
    });
    const result = await run(['retry-failed', PAYOUT_ID, '--idempotency-key', 'retry-2-abcdef']);
    expect(result.code).toBe(3);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]!.headers['idempotency-key']).toBe('retry-2-abcdef');
    expect(result.stderr).toMatch(
      /^409 The payout is not final yet\n {2}the payout is IN_PROGRESS/,
    );
  });

  it('balances prints each currency with its exact amount', async () => {
    api.handler = () => ({
      body: {
        account: 'acc-1',
        balances: [
          { currency: 'BTC', amount: '12.345678901234567890' },
          { currency: 'ETH', amount: '0' },
        ],
      },
    });
    const result = await run(['balances']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'account acc-1\ncurrency  amount\nBTC       12.345678901234567890\nETH       0\n',
    );
  });

  it('events pages through the audit trail', async () => {
    api.handler = (req) =>
      req.query.get('cursor')
        ? {
            body: {
              items: [
                {
                  at: '2030-01-01T00:01:00Z',
                  entity: 'withdrawal',
                  ref: '0:1',
                  field: 'state',
                  from: 'IN_PROGRESS',
                  to: 'COMPLETED',
                  cause: 'webhook',
                  detail: null,
                },
              ],
              cursor: null,
            },
          }
        : {
            body: {
              items: [
                {
                  at: '2030-01-01T00:00:00Z',
                  entity: 'payout',
                  ref: null,
                  field: 'state',
                  from: null,
                  to: 'ACCEPTED',
                  cause: 'api',
                  detail: null,
                },
              ],
              cursor: 'c1',
            },
          };
    const result = await run(['events', PAYOUT_ID]);
    expect(result.code).toBe(0);
    expect(api.requests.map((r) => r.path)).toEqual([
      `/payouts/${PAYOUT_ID}/events`,
      `/payouts/${PAYOUT_ID}/events`,
    ]);
    expect(result.stdout).toContain('payout');
    expect(result.stdout).toMatch(/withdrawal 0:1 +state +IN_PROGRESS → COMPLETED +webhook/);
    expect(result.stdout).toContain('2 events');
  });
});

describe('errors and exit statuses', () => {
  /** The one JSON error line on stderr, after any notes. */
  function jsonError(stderr: string): Record<string, unknown> {
    const lines = stderr.trimEnd().split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.slice(0, -1).every((p) => typeof p.note === 'string')).toBe(true);
    return parsed.at(-1)!.error as Record<string, unknown>;
  }

  it('--json: a bad file is one JSON error on stderr with every problem, exit 2', async () => {
    const path = await file('bad-json.csv', CSV);
    const result = await run(create(path, '--json'));
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(api.requests).toEqual([]);
    expect(jsonError(result.stderr)).toEqual({
      kind: 'input',
      exitCode: 2,
      message: `${path}: 1 problem; nothing was sent`,
      file: path,
      problems: [{ line: 4, message: 'amount "0" must be greater than 0' }],
    });
  });

  it('--json: a refusal keeps the API problem, field errors with their file line, exit 3', async () => {
    const path = await file('refused.csv', GOOD_CSV);
    api.handler = () => ({
      status: 422,
      problem: true,
      body: {
        title: 'The request has invalid fields',
        status: 422,
        errors: [{ path: '$.recipients[1].amount', message: 'has too many decimals' }],
      },
    });
    const result = await run(create(path, '--json'));
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    const error = jsonError(result.stderr);
    expect(error).toMatchObject({
      kind: 'refused',
      exitCode: 3,
      status: 422,
      title: 'The request has invalid fields',
      errors: [{ path: '$.recipients[1].amount', message: 'has too many decimals', line: 3 }],
      method: 'POST',
      url: `${api.url}/payouts`,
      correlationId: api.requests[0]!.headers['x-correlation-id'],
    });
  });

  it('--json: a 5xx and an unreachable API are exit 4; a bad command line is exit 2', async () => {
    api.handler = () => ({
      status: 500,
      problem: true,
      body: { title: 'Internal error', status: 500 },
    });
    const failed = await run(['balances', '--json']);
    expect(failed.code).toBe(4);
    expect(jsonError(failed.stderr)).toMatchObject({ kind: 'unavailable', status: 500 });

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = await run(['balances', '--json', '--api-url', `http://127.0.0.1:${port}`]);
    expect(unreachable.code).toBe(4);
    expect(unreachable.stdout).toBe('');
    expect(jsonError(unreachable.stderr)).toMatchObject({
      kind: 'unavailable',
      exitCode: 4,
      reason: 'connection refused',
    });

    const usage = await run(['get', '--json']);
    expect(usage.code).toBe(2);
    expect(jsonError(usage.stderr)).toEqual({
      kind: 'usage',
      exitCode: 2,
      message: 'get needs a payout id',
    });
    const unparsed = await run(['get', 'x', '--json', '--bogus']);
    expect(unparsed.code).toBe(2);
    expect(jsonError(unparsed.stderr)).toMatchObject({
      kind: 'usage',
      message: 'unknown option --bogus',
    });
  });

  it('without --json: the same statuses, as text', async () => {
    const missing = await run(create(join(dir, 'no-such.csv')));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      `${join(dir, 'no-such.csv')}: cannot read the file: no such file\n`,
    );

    api.handler = () => ({
      status: 503,
      problem: true,
      headers: { 'retry-after': '0' },
      body: { title: 'Unavailable', status: 503 },
    });
    const down = await run(['balances']);
    expect(down.code).toBe(4);
    expect(down.stderr).toMatch(/^503 Unavailable\n/);
    expect(api.requests).toHaveLength(3);
  });

  it('colours the error on a terminal only, and not with NO_COLOR', async () => {
    api.handler = () => ({ status: 404, problem: true, body: { title: 'Not found', status: 404 } });
    const tty = await run(['get', 'nope'], { stderrTty: true });
    expect(tty.stderr.startsWith('\x1b[31m404 Not found\x1b[0m\n')).toBe(true);
    const noColour = await run(['get', 'nope'], { stderrTty: true, env: { NO_COLOR: '1' } });
    expect(noColour.stderr.startsWith('404 Not found\n')).toBe(true);
    const piped = await run(['get', 'nope']);
    expect(piped.stderr).not.toContain('\x1b');
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const result = await run(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `payouts ${version}\n`, stderr: '' });
    expect(api.requests).toEqual([]);
  });
});

describe('the API client', () => {
  it('says which URL could not be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const out = { stderr: '' };
    const code = await main(['balances', '--api-url', `http://127.0.0.1:${port}`], {
      ...processIo(),
      stdout: { write: () => true },
      stderr: { write: (t: string) => (out.stderr += t) },
    });
    expect(code).toBe(4);
    expect(out.stderr).toContain(
      `could not reach the payouts API at http://127.0.0.1:${port}/balances: connection refused`,
    );
  });

  it('signs requests with SigV4 when given a signer', async () => {
    api.handler = () => ({ body: { account: 'a', balances: [] } });
    const client = new ApiClient({
      baseUrl: `${api.url}/prod`,
      signer: createSigV4Signer({
        region: 'eu-west-1',
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      }),
    });
    await client.post('/payouts', { body: { a: 1 }, idempotencyKey: 'key-12345678' });
    const headers = api.requests[0]!.headers;
    expect(api.requests[0]!.path).toBe('/prod/payouts');
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=accept;content-type;host;idempotency-key;x-amz-date;x-correlation-id, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
  });
});

describe('bin/payouts.mjs', () => {
  it('runs the CLI as a program, with its exit status', async () => {
    api.handler = () => ({
      body: payoutView({ state: 'FAILED', withdrawalCounts: { FAILED: 3 } }),
    });
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin/payouts.mjs'), 'get', PAYOUT_ID, '--watch', '--api-url', api.url],
      {
        cwd: tmpdir(),
        env: { PATH: process.env.PATH ?? '' },
      },
    );
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stdout).toContain(`Payout ${PAYOUT_ID} ended FAILED: 3 payments failed.`);
    expect(code).toBe(5);
  });
});
