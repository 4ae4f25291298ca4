/**
 * `payouts list` end to end: the CLI against the local API, DynamoDB Local and the sandbox, with
 * callers given by --caller, so who sees which payouts is the API's own decision.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processIo, type CliIo } from '../../cli/context.js';
import { main } from '../../cli/payouts.js';
import { as, role } from '../support/callers.js';
import { btcAddress } from '../support/recipients.js';
import { startTestStack, type TestStack } from '../support/stack.js';

const PAYROLL = role('payroll-svc');
const AFFILIATES = role('affiliates-svc');
const AUDITOR = role('auditor');

let stack: TestStack;
let first: string;
let second: string;
let theirs: string;
let between: string;

async function create(caller: string, name: string): Promise<string> {
  const res = await stack.request('POST', '/payouts', {
    body: { currency: 'BTC', name, recipients: [{ address: btcAddress(name), amount: '0.01' }] },
    headers: as(caller, { 'idempotency-key': randomUUID() }),
  });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

async function cli(caller: string, args: string[]) {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    ...processIo(),
    stdout: { write: (t: string) => (out.stdout += t), isTTY: false },
    stderr: { write: (t: string) => (out.stderr += t), isTTY: false },
    env: {},
    sleep: () => Promise.resolve(),
  };
  const code = await main(['--api-url', stack.api.url, '--caller', caller, ...args], io);
  return { code, ...out };
}

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      TEAMS: JSON.stringify({ payroll: [PAYROLL] }),
      AUDITORS: JSON.stringify([AUDITOR]),
    },
  });
  first = await create(PAYROLL, 'cli-list-1');
  await stack.advance(1_000);
  theirs = await create(AFFILIATES, 'cli-list-2');
  await stack.advance(1_000);
  between = new Date(stack.sandbox.now()).toISOString();
  await stack.advance(1_000);
  second = await create(PAYROLL, 'cli-list-3');
  await stack.settle();
});
afterAll(async () => {
  await stack?.close();
});

describe('payouts list', () => {
  it("shows the caller's own payouts, newest first, as a table", async () => {
    const result = await cli(PAYROLL, ['list']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^payout +state +name +total/);
    expect(lines[1]).toContain(second);
    expect(lines[2]).toContain(first);
    expect(result.stdout).not.toContain(theirs);
    expect(lines.at(-1)).toBe('2 payouts');
  });

  it("an auditor's lists everyone's; --json, --created-after and --limit", async () => {
    const all = await cli(AUDITOR, ['list', '--json']);
    expect(all.code).toBe(0);
    expect((JSON.parse(all.stdout) as { id: string }[]).map((p) => p.id)).toEqual([
      second,
      theirs,
      first,
    ]);
    const after = await cli(AUDITOR, ['list', '--json', '--created-after', between]);
    expect((JSON.parse(after.stdout) as { id: string }[]).map((p) => p.id)).toEqual([second]);
    const limited = await cli(AUDITOR, ['list', '--json', '--limit', '2']);
    expect((JSON.parse(limited.stdout) as { id: string }[]).map((p) => p.id)).toEqual([
      second,
      theirs,
    ]);
  });

  it('--stuck lists none while nothing is stuck', async () => {
    const result = await cli(AUDITOR, ['list', '--stuck']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('0 payouts stuck\n');
  });

  it('a creation time without a zone is refused by the API (exit 3, the field named)', async () => {
    const result = await cli(PAYROLL, ['list', '--created-after', '2030-01-31T12:00:00', '--json']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('query:createdAfter');
  });
});
