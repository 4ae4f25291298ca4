/**
 * The invariants every fault scenario must leave intact, checked from the outside: the table is
 * read with a plain Scan (not through the repository) and Calypso's side through the sandbox's
 * inspection.
 *
 * For every accepted payout:
 * - its withdrawals add up (exact decimals) to the request's total and to the stored total, and
 *   each recipient of the request appears exactly once;
 * - at Calypso, each batch's idempotencyKey was created at most once, a batch we call submitted
 *   is the one mass payout under its key, that mass payout pays exactly the batch's recipients,
 *   and no recipient (deposit address and amount) was paid in two mass payouts;
 * - every mass payout at Calypso is one of our batches;
 * - nothing was sent for a payout still short of its approvals, or for a cancelled one, and no
 *   owner's payouts in a currency exceed the policy's daily limit in any 24 hours;
 * - a payout is retried at most once, and across a payout and its retries (and theirs) no
 *   recipient is paid more often than the original request asks;
 * - our final withdrawal states agree with Calypso's;
 * - the payout is final, or one of its batches is flagged stuck, and a batch that is not final is
 *   still in the reconciler's open-batch index (so nothing is forgotten).
 */
import { ScanCommand, type DynamoDBClient, type ScanCommandInput } from '@aws-sdk/client-dynamodb';
import type { CalypsoSandbox, PayoutSnapshot } from '../../../infra/local/calypso-sandbox/index.js';
import { Decimal } from '../../../shared/domain/money.js';
import {
  TERMINAL_PAYOUT_STATES,
  type BatchRecord,
  type PayoutRecord,
  type WithdrawalRecord,
} from '../../../shared/domain/payout.js';
import { derivePayoutState } from '../../../shared/domain/payout-state.js';
import type { PayoutPolicy } from '../../../shared/domain/policy.js';
import { fromItem } from '../../../shared/store/attributes.js';

/** What each accepted payout was asked to pay, by payout id (the request body as sent). */
export type Ledger = Map<string, unknown>;

export interface Violation {
  rule:
    | 'stored-total'
    | 'request-total'
    | 'recipients-once'
    | 'batch-total'
    | 'create-once'
    | 'submitted-linked'
    | 'rejected-not-created'
    | 'unfunded-not-created'
    | 'calypso-content'
    | 'paid-twice'
    | 'retry-once'
    | 'sent-unapproved'
    | 'canceled-sent'
    | 'limit-exceeded'
    | 'retry-paid-twice'
    | 'unknown-mass-payout'
    | 'state-truth'
    | 'not-final'
    | 'state-recorded'
    | 'open-index'
    | 'sandbox-internal';
  payoutId?: string;
  detail: string;
}

export interface PayoutSummary {
  id: string;
  state: string;
  stuck: boolean;
  batches: number;
  withdrawals: number;
}

export interface InvariantReport {
  violations: Violation[];
  payouts: PayoutSummary[];
}

export interface InvariantInput {
  db: DynamoDBClient;
  tableName: string;
  sandbox: CalypsoSandbox;
  ledger?: Ledger;
  /** The payout policy the system ran with: its approvals and daily limits are checked too. */
  policy?: PayoutPolicy;
}

type Stored<T> = T & { PK: string; SK: string; GSI2PK?: string; GSI2SK?: string };

interface PayoutData {
  payout: Stored<PayoutRecord>;
  batches: Stored<BatchRecord>[];
  withdrawals: Stored<WithdrawalRecord>[];
}

export function isFinalOrStuck(p: PayoutSummary): boolean {
  return (TERMINAL_PAYOUT_STATES as readonly string[]).includes(p.state) || p.stuck;
}

export function formatViolations(violations: Violation[]): string[] {
  return violations.map((v) => `${v.rule}${v.payoutId ? ` [${v.payoutId}]` : ''}: ${v.detail}`);
}

async function scanAll(db: DynamoDBClient, tableName: string) {
  const items: Record<string, unknown>[] = [];
  let start: ScanCommandInput['ExclusiveStartKey'];
  do {
    const page = await db.send(
      new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    for (const item of page.Items ?? []) items.push(fromItem(item));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

function decimal(text: string): Decimal {
  return Decimal.parse(text).normalize();
}

/** EVM and bech32 addresses compare case-insensitively; base58 ones exactly. */
function addressKey(address: string): string {
  return /^0x[0-9a-f]{40}$/i.test(address) || /^(bc|tb)1/i.test(address)
    ? address.toLowerCase()
    : address;
}

function recipientKey(address: string, amount: string): string {
  return `${addressKey(address)}|${decimal(amount).toString()}`;
}

function sum(amounts: string[]): Decimal {
  return Decimal.sum(amounts.map(decimal)).normalize();
}

interface RequestedRecipient {
  address: string;
  amount: string;
  externalId?: string;
}

function requestedRecipients(body: unknown): RequestedRecipient[] | undefined {
  const recipients = (body as { recipients?: unknown } | undefined)?.recipients;
  if (!Array.isArray(recipients)) return undefined;
  return recipients as RequestedRecipient[];
}

function countBy<T>(values: T[], key: (v: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(key(v), (counts.get(key(v)) ?? 0) + 1);
  return counts;
}

function sameCounts(a: Map<string, number>, b: Map<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, n] of a) if (b.get(k) !== n) return false;
  return true;
}

export async function checkInvariants(input: InvariantInput): Promise<InvariantReport> {
  const { sandbox } = input;
  const violations: Violation[] = [];
  const add = (rule: Violation['rule'], payoutId: string | undefined, detail: string) =>
    violations.push({ rule, ...(payoutId ? { payoutId } : {}), detail });

  const items = await scanAll(input.db, input.tableName);
  const byPayout = new Map<string, PayoutData>();
  const parts = {
    batches: [] as Stored<BatchRecord>[],
    withdrawals: [] as Stored<WithdrawalRecord>[],
  };
  for (const item of items) {
    if (item.type === 'payout') {
      const payout = item as unknown as Stored<PayoutRecord>;
      byPayout.set(payout.id, { payout, batches: [], withdrawals: [] });
    } else if (item.type === 'batch') {
      parts.batches.push(item as unknown as Stored<BatchRecord>);
    } else if (item.type === 'withdrawal') {
      parts.withdrawals.push(item as unknown as Stored<WithdrawalRecord>);
    }
  }
  // Parts of a payout that was never committed are not an accepted payout: ignored.
  for (const b of parts.batches) byPayout.get(b.payoutId)?.batches.push(b);
  for (const w of parts.withdrawals) byPayout.get(w.payoutId)?.withdrawals.push(w);

  // Mass payouts and single payouts alike: each is one batch of ours, under its key.
  const massPayouts = [...sandbox.inspect.massPayouts(), ...sandbox.inspect.payouts()];
  const createsUnder = (key: string) =>
    sandbox.inspect.massPayoutCreates(key) +
    sandbox.inspect.payouts().filter((p) => p.idempotencyKey === key).length;
  const massByKey = new Map<string, PayoutSnapshot>();
  const massKeyById = new Map<string, string>();
  for (const m of massPayouts) {
    massByKey.set(m.idempotencyKey, m);
    massKeyById.set(m.id, m.idempotencyKey);
  }
  const batchByKey = new Map<string, Stored<BatchRecord>>();
  for (const data of byPayout.values())
    for (const b of data.batches) batchByKey.set(b.idempotencyKey, b);

  // Every mass payout at Calypso must be one of our batches.
  for (const m of massPayouts) {
    if (!batchByKey.has(m.idempotencyKey)) {
      add(
        'unknown-mass-payout',
        undefined,
        `mass payout ${m.id} (idempotencyKey ${m.idempotencyKey}) is not one of our batches`,
      );
    }
  }

  // Which mass payouts pay each recipient (deposit address and amount), and which batches may.
  const massPaying = new Map<string, Set<string>>();
  for (const m of massPayouts) {
    for (const w of m.withdrawals) {
      const k = recipientKey(w.depositAddress, w.amount);
      if (!massPaying.has(k)) massPaying.set(k, new Set());
      massPaying.get(k)!.add(m.id);
    }
  }
  const batchesPaying = new Map<string, Set<string>>();
  for (const data of byPayout.values()) {
    for (const w of data.withdrawals) {
      const k = recipientKey(w.address, w.amount);
      const batch = data.batches.find((b) => b.index === w.batchIndex);
      if (!batch) continue;
      if (!batchesPaying.has(k)) batchesPaying.set(k, new Set());
      batchesPaying.get(k)!.add(batch.idempotencyKey);
    }
  }

  const summaries: PayoutSummary[] = [];
  for (const [id, { payout, batches, withdrawals }] of byPayout) {
    // ---- money in our records -----------------------------------------------------------
    if (withdrawals.length !== payout.recipientCount) {
      add(
        'stored-total',
        id,
        `${withdrawals.length} withdrawals stored for ${payout.recipientCount} recipients`,
      );
    }
    const storedSum = sum(withdrawals.map((w) => w.amount));
    if (!storedSum.equals(decimal(payout.total))) {
      add(
        'stored-total',
        id,
        `withdrawals add up to ${storedSum.toString()}, the payout's total is ${payout.total}`,
      );
    }
    if (batches.length !== payout.batchCount) {
      add('batch-total', id, `${batches.length} batches stored, ${payout.batchCount} planned`);
    }
    for (const b of batches) {
      const mine = withdrawals.filter((w) => w.batchIndex === b.index);
      const total = sum(mine.map((w) => w.amount));
      if (mine.length !== b.recipientCount || !total.equals(decimal(b.total))) {
        add(
          'batch-total',
          id,
          `batch ${b.index} holds ${mine.length} withdrawals adding up to ${total.toString()}, planned ${b.recipientCount} adding up to ${b.total}`,
        );
      }
    }
    const requestIndexes = countBy(withdrawals, (w) => String(w.requestIndex));
    for (const [index, n] of requestIndexes) {
      if (n > 1) add('recipients-once', id, `request recipient ${index} stored ${n} times`);
    }

    // ---- against the request ------------------------------------------------------------
    const requested = input.ledger?.has(id) ? requestedRecipients(input.ledger.get(id)) : undefined;
    if (requested) {
      const requestedSum = sum(requested.map((r) => r.amount));
      if (!requestedSum.equals(storedSum) || !requestedSum.equals(decimal(payout.total))) {
        add(
          'request-total',
          id,
          `the request adds up to ${requestedSum.toString()}, the withdrawals to ${storedSum.toString()}, the payout's total is ${payout.total}`,
        );
      }
      const byIndex = new Map(withdrawals.map((w) => [w.requestIndex, w]));
      requested.forEach((r, index) => {
        const w = byIndex.get(index);
        if (
          !w ||
          w.address !== r.address ||
          !decimal(w.amount).equals(decimal(r.amount)) ||
          (w.externalId ?? null) !== (r.externalId ?? null)
        ) {
          add(
            'recipients-once',
            id,
            `request recipient ${index} (${r.address} ${r.amount}) is not stored as asked`,
          );
        }
      });
      if (withdrawals.length !== requested.length) {
        add(
          'recipients-once',
          id,
          `${withdrawals.length} withdrawals for ${requested.length} requested recipients`,
        );
      }
    }

    // ---- at Calypso -----------------------------------------------------------------------
    for (const b of batches) {
      const creates = createsUnder(b.idempotencyKey);
      const mass = massByKey.get(b.idempotencyKey);
      if (creates > 1) {
        add(
          'create-once',
          id,
          `batch ${b.index}: idempotencyKey ${b.idempotencyKey} created ${creates} times`,
        );
      }
      if (
        (b.status === 'SUBMITTED' || b.status === 'FINAL') &&
        (creates !== 1 || mass?.id !== b.calypsoId)
      ) {
        add(
          'submitted-linked',
          id,
          `batch ${b.index} is ${b.status} with Calypso id ${b.calypsoId ?? 'none'}, Calypso holds ${mass?.id ?? 'nothing'} under its key (${creates} creates)`,
        );
      }
      if (b.status === 'REJECTED' && mass) {
        add(
          'rejected-not-created',
          id,
          `batch ${b.index} is REJECTED but Calypso holds mass payout ${mass.id}`,
        );
      }
      if ((b.status === 'UNFUNDED' || b.status === 'AWAITING_FUNDS') && mass) {
        add(
          'unfunded-not-created',
          id,
          `batch ${b.index} is ${b.status} but Calypso holds payout ${mass.id} under its key`,
        );
      }
      const mine = withdrawals.filter((w) => w.batchIndex === b.index);
      if (mass && mass.withdrawals.length > 0) {
        const ours = countBy(
          mine,
          (w) => `${recipientKey(w.address, w.amount)}|${w.externalId ?? ''}`,
        );
        const theirs = countBy(
          mass.withdrawals,
          (w) => `${recipientKey(w.depositAddress, w.amount)}|${w.externalId ?? ''}`,
        );
        if (!sameCounts(ours, theirs)) {
          add(
            'calypso-content',
            id,
            `batch ${b.index}: Calypso's mass payout ${mass.id} does not pay exactly the batch's recipients`,
          );
        }
      }
      // No recipient paid in a mass payout other than the batch's own (or another batch that
      // also asks to pay the same address and amount, e.g. a retry of failed payments).
      for (const w of mine) {
        const k = recipientKey(w.address, w.amount);
        const allowed = batchesPaying.get(k) ?? new Set<string>();
        const paidBy = [...(massPaying.get(k) ?? [])];
        const foreign = paidBy.filter((mid) => !allowed.has(massKeyById.get(mid)!));
        if (foreign.length > 0) {
          add(
            'paid-twice',
            id,
            `recipient ${w.address} ${w.amount} (batch ${b.index}) was paid in ${paidBy.length} mass payout(s) (${paidBy.join(', ')}), ${foreign.length} of them not under its batch's key`,
          );
        }
      }
      // Our final states agree with Calypso's.
      if (mass && (b.status === 'FINAL' || b.status === 'SUBMITTED')) {
        const theirs = new Map(mass.withdrawals.map((t) => [t.id, t]));
        const seen = new Set<string>();
        for (const w of mine) {
          if (!w.calypsoWithdrawalId) {
            if (b.status === 'FINAL' && mass.withdrawals.length > 0) {
              add(
                'state-truth',
                id,
                `batch ${b.index} is FINAL but withdrawal ${w.position} was never matched to Calypso's`,
              );
            }
            continue;
          }
          const t = theirs.get(w.calypsoWithdrawalId);
          if (
            !t ||
            seen.has(t.id) ||
            recipientKey(t.depositAddress, t.amount) !== recipientKey(w.address, w.amount)
          ) {
            add(
              'state-truth',
              id,
              `withdrawal ${b.index}/${w.position} is linked to Calypso withdrawal ${w.calypsoWithdrawalId}, which pays someone else or another of ours`,
            );
            continue;
          }
          seen.add(t.id);
          const terminal = ['COMPLETED', 'FAILED', 'REPLACED'];
          if (terminal.includes(w.state) && w.state !== t.state) {
            add(
              'state-truth',
              id,
              `withdrawal ${b.index}/${w.position} is ${w.state} here and ${t.state} at Calypso`,
            );
          }
          if (b.status === 'FINAL' && terminal.includes(t.state) && w.state !== t.state) {
            add(
              'state-truth',
              id,
              `batch ${b.index} is FINAL but withdrawal ${w.position} is ${w.state}, Calypso says ${t.state}`,
            );
          }
        }
      }
      // A batch that is not closed must stay where the reconciler looks.
      // Cancelled before anything was sent: nothing is left to look at.
      const closed =
        b.status === 'FINAL' ||
        b.status === 'REJECTED' ||
        b.status === 'UNFUNDED' ||
        b.status === 'CANCELED';
      if (!closed && (!b.GSI2PK || !b.nextLookAt)) {
        add('open-index', id, `batch ${b.index} is ${b.status} but not in the open-batch index`);
      }
      // A REJECTED batch stays there until its confirming look, which clears its next look.
      const awaitingConfirmation =
        (b.status === 'REJECTED' || b.status === 'UNFUNDED') && b.nextLookAt !== undefined;
      if (closed && b.GSI2PK && !awaitingConfirmation) {
        add('open-index', id, `batch ${b.index} is ${b.status} but still in the open-batch index`);
      }
    }

    // ---- finality ---------------------------------------------------------------------------
    const state = derivePayoutState(batches);
    const stuck = batches.some((b) => b.stuck === true);
    const final = (TERMINAL_PAYOUT_STATES as readonly string[]).includes(state);
    if (!final && !stuck)
      add('not-final', id, `the payout is ${state} and no batch is flagged stuck`);
    if (final && payout.state !== state) {
      add('state-recorded', id, `the batches say ${state}, the payout record says ${payout.state}`);
    }
    summaries.push({ id, state, stuck, batches: batches.length, withdrawals: withdrawals.length });
  }

  checkRetries(byPayout, massByKey, add);
  checkControls(byPayout, massByKey, input.policy, add);

  // Every accepted request is a payout in the table.
  for (const id of input.ledger?.keys() ?? []) {
    if (!byPayout.has(id)) add('recipients-once', id, 'an accepted payout is not in the table');
  }
  for (const error of sandbox.inspect.internalErrors()) add('sandbox-internal', undefined, error);

  return { violations, payouts: summaries };
}

/**
 * Retries: one per payout, and across a lineage (a payout, its retry, the retry's retry) each
 * recipient completed at Calypso no more often than the original request lists it.
 */
function checkRetries(
  byPayout: Map<string, PayoutData>,
  massByKey: Map<string, PayoutSnapshot>,
  add: (rule: Violation['rule'], payoutId: string | undefined, detail: string) => void,
) {
  const retriesOf = new Map<string, string[]>();
  for (const { payout } of byPayout.values()) {
    if (!payout.retryOf) continue;
    retriesOf.set(payout.retryOf, [...(retriesOf.get(payout.retryOf) ?? []), payout.id]);
  }
  for (const [original, retries] of retriesOf) {
    if (retries.length > 1)
      add('retry-once', original, `retried ${retries.length} times: ${retries.join(', ')}`);
  }
  const rootOf = (id: string): string => {
    const seen = new Set<string>();
    let current = id;
    for (;;) {
      const parent = byPayout.get(current)?.payout.retryOf;
      if (!parent || seen.has(parent) || !byPayout.has(parent)) return current;
      seen.add(current);
      current = parent;
    }
  };
  const lineages = new Map<string, string[]>();
  for (const id of byPayout.keys()) {
    const root = rootOf(id);
    lineages.set(root, [...(lineages.get(root) ?? []), id]);
  }
  for (const [root, members] of lineages) {
    if (members.length < 2) continue;
    const asked = countBy(byPayout.get(root)!.withdrawals, (w) =>
      recipientKey(w.address, w.amount),
    );
    const paid = new Map<string, number>();
    for (const id of members) {
      for (const b of byPayout.get(id)!.batches) {
        for (const t of massByKey.get(b.idempotencyKey)?.withdrawals ?? []) {
          if (t.state !== 'COMPLETED') continue;
          const k = recipientKey(t.depositAddress, t.amount);
          paid.set(k, (paid.get(k) ?? 0) + 1);
        }
      }
    }
    for (const [k, n] of paid) {
      if (n > (asked.get(k) ?? 0)) {
        add(
          'retry-paid-twice',
          root,
          `recipient ${k} was paid ${n} times across the payout and its ${members.length - 1} retries; the request asks ${asked.get(k) ?? 0}`,
        );
      }
    }
  }
}

/** Approvals, cancellation and daily limits: what the controls hold never reached Calypso. */
function checkControls(
  byPayout: Map<string, PayoutData>,
  massByKey: Map<string, PayoutSnapshot>,
  policy: PayoutPolicy | undefined,
  add: (rule: Violation['rule'], payoutId: string | undefined, detail: string) => void,
) {
  const counted: { owner: string; currency: string; at: number; total: Decimal; id: string }[] = [];
  for (const [id, { payout, batches }] of byPayout) {
    const atCalypso = batches.filter((b) => massByKey.has(b.idempotencyKey));
    const approval = payout.approval;
    if (approval && approval.approvals.length < approval.required && atCalypso.length > 0) {
      add(
        'sent-unapproved',
        id,
        `${atCalypso.length} batch(es) at Calypso with ${approval.approvals.length} of ${approval.required} approvals`,
      );
    }
    if (
      approval &&
      new Set(approval.approvals.map((a) => a.principal)).size < approval.approvals.length
    ) {
      add('sent-unapproved', id, 'one approver counted twice');
    }
    if (approval?.approvals.some((a) => a.principal === payout.createdBy)) {
      add('sent-unapproved', id, 'approved by its own creator');
    }
    const canceled = payout.hold === 'canceled' || batches.some((b) => b.status === 'CANCELED');
    if (canceled && atCalypso.length > 0) {
      add('canceled-sent', id, `cancelled, yet ${atCalypso.length} batch(es) are at Calypso`);
    }
    if (!canceled) {
      counted.push({
        owner: payout.owner,
        currency: payout.currency,
        at: Date.parse(payout.createdAt),
        total: decimal(payout.total),
        id,
      });
    }
  }
  if (!policy) return;
  const day = 24 * 3_600_000;
  for (const p of counted) {
    const rule = policy.ruleFor(p.owner, p.currency);
    if (rule?.dailyLimit === undefined) continue;
    const inWindow = counted.filter(
      (q) => q.owner === p.owner && q.currency === p.currency && q.at > p.at - day && q.at <= p.at,
    );
    const sum = Decimal.sum(inWindow.map((q) => q.total));
    if (sum.compare(Decimal.parse(rule.dailyLimit)) > 0) {
      add(
        'limit-exceeded',
        p.id,
        `${p.owner} had ${sum.toString()} ${p.currency} in the 24 hours up to this payout; the limit is ${rule.dailyLimit}`,
      );
    }
  }
}
