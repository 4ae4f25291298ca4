/**
 * The CLI's treasury controls end to end: the payouts CLI against the local API with a payout
 * policy and teams, DynamoDB Local and the Calypso sandbox. Callers are IAM ARNs given with
 * --caller, so four-eyes, approvers and operators are the API's own decisions.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processIo, type CliIo } from '../../cli/context.js';
import { main } from '../../cli/payouts.js';
import { Decimal } from '../../shared/domain/money.js';
import { btcAddress } from '../support/recipients.js';
import { startTestStack, type TestStack } from '../support/stack.js';

const ACCOUNT = '111122223333';
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const session = (roleName: string, name: string) =>
  `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${name}`;

const PAYROLL = role('payroll-svc');
const TREASURY_1 = role('treasury-1');
const TREASURY_2 = role('treasury-2');
const OPS = role('treasury-ops');

const POLICY = {
  approvalTtlHours: 1,
  operators: [OPS],
  rules: [
    {
      owner: 'payroll',
      currency: 'BTC',
      approvalAbove: '0.05',
      approvalsRequired: 2,
      approvers: ['treasury', PAYROLL],
    },
  ],
};

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({
    env: {
      TEAMS: JSON.stringify({ payroll: [PAYROLL], treasury: [TREASURY_1, TREASURY_2] }),
      PAYOUT_POLICY: JSON.stringify(POLICY),
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `typed`: a person at a terminal (stdin and stdout TTYs) types these lines. */
async function cli(caller: string, args: string[], typed?: string[]): Promise<Run> {
  const out = { stdout: '', stderr: '' };
  const lines = [...(typed ?? [])];
  const io: CliIo = {
    ...processIo(),
    stdin: { isTTY: typed !== undefined, readLine: () => Promise.resolve(lines.shift()) },
    stdout: { write: (t: string) => (out.stdout += t), isTTY: typed !== undefined },
    stderr: { write: (t: string) => (out.stderr += t), isTTY: false },
    env: {},
    sleep: () => Promise.resolve(),
  };
  const code = await main(['--api-url', stack.api.url, '--caller', caller, ...args], io);
  return { code, ...out };
}

let n = 0;
/** A payroll payout of 0.04 + 0.03 BTC: above 0.05, so it waits for two treasury approvals. */
async function heldPayout(): Promise<string> {
  const name = `cli-ctl-${++n}`;
  const res = await stack.request('POST', '/payouts', {
    body: {
      currency: 'BTC',
      name,
      recipients: ['0.04', '0.03'].map((amount, i) => ({
        address: btcAddress(`${name}-${i}`),
        amount,
      })),
    },
    headers: { 'x-caller-id': session('payroll-svc', 'run'), 'idempotency-key': randomUUID() },
  });
  expect(res.body.state).toBe('PENDING_APPROVAL');
  return res.body.id as string;
}

const stateOf = async (id: string) =>
  (await stack.request('GET', `/payouts/${id}`, { headers: { 'x-caller-id': PAYROLL } })).body
    .state as string;

describe('payouts create on a terminal, with a payout policy', () => {
  it('says approvals will be needed and what the balance will be; "n" creates nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'payouts-cli-controls-'));
    try {
      const path = join(dir, 'march.csv');
      await writeFile(
        path,
        `address,amount,externalId\n${btcAddress('sum-0')},0.04,=sum-0\n${btcAddress('sum-1')},0.03,-sum-1\n`,
      );
      const args = ['create', '--currency', 'BTC', '--name', 'summary', '--file', path];
      const balance = (await cli(PAYROLL, ['balances', '--json'])).stdout;
      const btc = (
        JSON.parse(balance) as { balances: { currency: string; amount: string }[] }
      ).balances.find((b) => b.currency === 'BTC')!.amount;
      // What the funds check would keep for it: the amounts, Calypso's fee and the network fee.
      const plan = JSON.parse((await cli(PAYROLL, [...args, '--dry-run', '--json'])).stdout) as {
        funds: { coins: { currency: string; needed: string }[] };
      };
      const needed = plan.funds.coins.find((c) => c.currency === 'BTC')!.needed;
      expect(Decimal.parse(needed).compare(Decimal.parse('0.07'))).toBe(1);
      const after = Decimal.parse(btc).sub(Decimal.parse(needed)).toString();

      const declined = await cli(PAYROLL, args, ['n']);
      expect(declined.code).toBe(6);
      expect(declined.stdout).toMatch(/total +0\.07 BTC\n/);
      expect(declined.stdout).toContain(`needs BTC      ${needed} BTC: covered`);
      expect(declined.stdout).toContain(`balance after  ${after} BTC (after estimated fees)`);
      expect(declined.stdout).toMatch(
        /approval +needed: 2 approvals before anything is sent \(PENDING_APPROVAL\)/,
      );
      const waiting = async () =>
        (JSON.parse((await cli(TREASURY_1, ['pending', '--json'])).stdout) as { name: string }[])
          .map((p) => p.name)
          .filter((name) => name === 'summary');
      expect(await waiting()).toEqual([]);

      const accepted = await cli(PAYROLL, args, ['y']);
      expect(accepted.code).toBe(0);
      expect(accepted.stdout).toMatch(/state +PENDING_APPROVAL/);
      expect(await waiting()).toEqual(['summary']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('payouts pending, approve', () => {
  it('lists what awaits me, refuses the creator, and needs two distinct approvers', async () => {
    const id = await heldPayout();

    const pending = await cli(TREASURY_1, ['pending']);
    expect(pending.code).toBe(0);
    const row = pending.stdout.split('\n').find((l) => l.startsWith(id));
    expect(row).toMatch(/0\.07 BTC +2 +arn:aws:iam::111122223333:role\/payroll-svc +0 of 2/);
    expect(pending.stdout).toMatch(/awaiting your approval: payouts approve <id>/);
    const listed = JSON.parse((await cli(TREASURY_2, ['pending', '--json'])).stdout) as {
      id: string;
      total: string;
    }[];
    expect(listed.find((p) => p.id === id)).toMatchObject({ total: '0.07' });
    // The creator is an approver too, but never of its own payout.
    const own = await cli(PAYROLL, ['pending', '--json']);
    expect((JSON.parse(own.stdout) as { id: string }[]).map((p) => p.id)).not.toContain(id);

    const byCreator = await cli(session('payroll-svc', 'another'), ['approve', id]);
    expect(byCreator.code).toBe(3);
    expect(byCreator.stderr).toMatch(/^403 You may not approve or reject your own payout\n/);
    expect(byCreator.stdout).toBe('');

    const first = await cli(TREASURY_1, ['approve', id]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Approved ${id}: 1 of 2 approvals; it waits for 1 more.`);
    expect(first.stdout).toMatch(/state +PENDING_APPROVAL/);
    expect(first.stdout).toMatch(/approval +1 of 2 approvals \(by .*treasury-1\); due by /);
    const again = await cli(TREASURY_1, ['approve', id, '--json']);
    expect(again.code).toBe(3);
    expect(again.stdout).toBe('');
    expect(JSON.parse(again.stderr)).toMatchObject({
      error: { kind: 'refused', exitCode: 3, status: 409 },
    });
    // Approved already: no longer listed for treasury-1.
    expect((await cli(TREASURY_1, ['pending'])).stdout).not.toContain(id);

    const second = await cli(TREASURY_2, ['approve', id, '--json']);
    expect(second.code).toBe(0);
    const payout = JSON.parse(second.stdout) as {
      state: string;
      approval: { approvals: unknown[] };
    };
    expect(payout.state).toBe('ACCEPTED');
    expect(payout.approval.approvals).toHaveLength(2);
  });

  it('needs exactly one payout id', async () => {
    expect((await cli(TREASURY_1, ['approve'])).code).toBe(2);
    expect((await cli(TREASURY_1, ['approve', 'a', 'b'])).stderr).toContain(
      'approve takes one payout id',
    );
    expect((await cli(TREASURY_1, ['pending', 'x'])).code).toBe(2);
  });
});

describe('payouts reject, cancel', () => {
  it('reject needs a reason, then cancels the payout with it', async () => {
    const id = await heldPayout();
    const bare = await cli(TREASURY_1, ['reject', id]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('reject needs --reason "why"');
    expect(await stateOf(id)).toBe('PENDING_APPROVAL');

    const rejected = await cli(TREASURY_1, ['reject', id, '--reason', 'unknown recipients']);
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain(`Rejected ${id}: it is cancelled and nothing was sent.`);
    expect(rejected.stdout).toMatch(/state +CANCELED/);
    expect(rejected.stdout).toMatch(/cancelled +\S+ by .*treasury-1: rejected: unknown recipients/);
    expect(await stateOf(id)).toBe('CANCELED');
    // Nothing left to decide.
    expect((await cli(TREASURY_2, ['approve', id])).code).toBe(3);
  });

  it('cancel by the owner, with or without a reason; a second cancel is refused', async () => {
    const id = await heldPayout();
    const cancelled = await cli(PAYROLL, ['cancel', id, '--reason', 'wrong month', '--json']);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({
      id,
      state: 'CANCELED',
      cancellation: { reason: 'wrong month' },
    });
    const twice = await cli(PAYROLL, ['cancel', id]);
    expect(twice.code).toBe(3);
    expect(twice.stderr).toMatch(/^409 The payout is already cancelled\n/);

    const other = await heldPayout();
    const plain = await cli(PAYROLL, ['cancel', other]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(`Cancelled ${other}: nothing of it was sent.`);
    expect(await stateOf(other)).toBe('CANCELED');
    expect((await cli(PAYROLL, ['cancel', other, '--reason', ' '])).code).toBe(2);
  });
});

describe('payouts pause, resume, paused', () => {
  it('operators pause and resume; anyone sees the state', async () => {
    const notOperator = await cli(TREASURY_1, ['pause', '--reason', 'drill']);
    expect(notOperator.code).toBe(3);
    expect(notOperator.stderr).toMatch(/^403 Only an operator may pause or resume\n/);
    expect((await cli(OPS, ['pause'])).stderr).toContain('pause needs --reason "why"');

    const paused = await cli(OPS, ['pause', '--reason', 'suspicious activity']);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain('Submission is PAUSED');
    expect(paused.stdout).toMatch(/reason +suspicious activity/);
    expect(paused.stdout).toMatch(/by +arn:aws:iam::111122223333:role\/treasury-ops/);

    const shown = await cli(PAYROLL, ['paused']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/reason +suspicious activity/);
    expect(JSON.parse((await cli(PAYROLL, ['pause', '--status', '--json'])).stdout)).toMatchObject({
      paused: true,
      reason: 'suspicious activity',
      by: OPS,
    });
    // A payout shows the pause while it lasts.
    const id = await heldPayout();
    expect((await cli(PAYROLL, ['get', id])).stdout).toMatch(
      /submission +PAUSED since \S+ \(suspicious activity\)/,
    );
    expect((await cli(PAYROLL, ['pause', '--status', '--reason', 'x'])).code).toBe(2);

    const resumed = await cli(OPS, ['resume', '--json']);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toEqual({
      paused: false,
      since: null,
      by: null,
      reason: null,
    });
    expect((await cli(PAYROLL, ['paused'])).stdout).toBe(
      'Submission is running: payouts are sent to Calypso as they come.\n',
    );
  });
});
