/**
 * Accepting a payout: validate, plan batches, store it durably under the caller's idempotency
 * key, then hand it to submission. The same key and body always lead to the same payout.
 *
 * The write is three steps, each safe to repeat:
 * 1. claim the key (conditional put) with a lease;
 * 2. write batches and withdrawals (BatchWriteItem; deterministic keys and content);
 * 3. commit: the payout item and the key's COMMITTED mark in one transaction.
 * Nothing can be submitted before step 3. A writer that dies mid-way leaves the key PENDING; a
 * retry of the same request after the lease finishes the work. The payout id is derived from
 * owner, key and request, so every writer of the same request writes the same items, whatever
 * AWS session it comes from (shared/domain/identity.ts).
 */
import { createHash } from 'node:crypto';
import { planBatches, type PayoutPlan } from '../domain/batching.js';
import { uuidV5 } from '../domain/ids.js';
import type {
  ApprovalRecord,
  BatchRecord,
  PayoutRecord,
  WithdrawalRecord,
} from '../domain/payout.js';
import { WITHDRAWAL_NOT_CREATED } from '../domain/payout.js';
import {
  canonicalRequest,
  validatePayoutRequest,
  type PayoutRequest,
} from '../domain/payout-request.js';
import type { CurrencyRegistry } from '../domain/currencies.js';
import type { AccessPolicy, Caller } from '../domain/identity.js';
import { Decimal } from '../domain/money.js';
import type { PayoutPolicy, PolicyDecision } from '../domain/policy.js';
import { Conflict, InvalidParameter, InvalidRequest, Refused } from './errors.js';
import type { EventPublisher } from './events.js';
import { emitMetrics } from '../metrics.js';
import { logger } from '../observability.js';
import type { ControlStore } from '../store/controls-store.js';
import type { IdempotencyStore } from '../store/idempotency-store.js';
import type { PayoutStore } from '../store/payouts-store.js';
import type { CalypsoProvider, Clock, SubmissionTrigger } from './ports.js';
import { batchNeeds, shortfalls } from '../domain/funds.js';
import { feeEstimate, type FundsSettings } from './funds-check.js';
import { payoutView, type PayoutView } from './views.js';

/** Namespace for payout ids derived from (owner, idempotency key, request). */
const PAYOUT_ID_NAMESPACE = 'a3c9d3f1-3d0e-4c57-9c55-6f0f1b8f2e41';
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{8,128}$/;

export interface CreatePayoutDeps {
  repository: IdempotencyStore & PayoutStore & ControlStore;
  access: AccessPolicy;
  policy: PayoutPolicy;
  events: EventPublisher;
  currencies: CurrencyRegistry;
  clock: Clock;
  trigger: SubmissionTrigger;
  calypso: CalypsoProvider;
  maxRecipients: number;
  /** How many days ahead an executionDate may be. */
  executionDateHorizonDays: number;
  testnetAddresses: boolean;
  /** Payouts of at most this many recipients go as single payouts (0: never). */
  singlePayoutMax: number;
  /** The funds check's settings: the dry run makes the same estimate. */
  funds: FundsSettings;
  /** How long a writer owns an idempotency key before a retry may finish its work. */
  writeLeaseMs: number;
}

export interface CreatePayoutInput {
  caller: Caller;
  idempotencyKey: string | undefined;
  body: unknown;
  dryRun?: boolean;
  retryOf?: string;
}

export type CreatePayoutResult =
  /** `created`: this request stored the payout; false: it was stored before (the same request). */
  { created: boolean; payout: PayoutView } | { dryRun: DryRunView };

export function checkIdempotencyKey(key: string | undefined): string {
  if (key === undefined || key === '') {
    throw new InvalidParameter('the Idempotency-Key header is required', [
      { path: 'header:Idempotency-Key', message: 'is required' },
    ]);
  }
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new InvalidParameter('the Idempotency-Key header is not valid', [
      {
        path: 'header:Idempotency-Key',
        message: 'must be 8 to 128 characters of A-Z, a-z, 0-9, ".", "_", ":", "-"',
      },
    ]);
  }
  return key;
}

/** The first request with the key is still being written: ask again in `seconds`. */
function inProgress(seconds: number): Conflict {
  return new Conflict(
    'in-progress',
    'The first request with this Idempotency-Key is still being processed',
    'retry the same request shortly',
    { retryAfterSeconds: seconds },
  );
}

export async function createPayout(
  deps: CreatePayoutDeps,
  input: CreatePayoutInput,
): Promise<CreatePayoutResult> {
  const now = deps.clock.now();
  const key = input.dryRun
    ? (input.idempotencyKey ?? 'dry-run')
    : checkIdempotencyKey(input.idempotencyKey);
  const validated = validatePayoutRequest(input.body, {
    currencies: deps.currencies,
    maxRecipients: deps.maxRecipients,
    now,
    executionDateHorizonDays: deps.executionDateHorizonDays,
    testnet: deps.testnetAddresses,
  });
  if (!validated.ok) throw new InvalidRequest(validated.errors);
  const request = validated.value;
  const requestHash = createHash('sha256').update(canonicalRequest(request)).digest('hex');
  const owner = deps.access.ownerOf(input.caller);
  const payoutId = uuidV5(`${owner}\n${key}\n${requestHash}`, PAYOUT_ID_NAMESPACE);
  let plan = planBatches(payoutId, request.recipients, request.currency, deps.singlePayoutMax);
  const decision = deps.policy.decide(
    owner,
    request.currency.code,
    plan.total,
    request.recipients.map((r, index) => ({ index, amount: r.amount })),
  );
  if (decision.overRecipientLimit.length > 0) {
    throw new Refused(
      'recipient-limit-exceeded',
      'Payments above the per-recipient maximum',
      `the payout policy allows at most ${decision.overRecipientLimit[0]!.max} ${request.currency.code} per recipient`,
      {
        errors: decision.overRecipientLimit.map((o) => ({
          path: `$.recipients[${o.index}].amount`,
          message: `${o.amount} is above the per-recipient maximum of ${o.max}`,
        })),
      },
    );
  }

  if (input.dryRun) return { dryRun: await dryRunView(deps, request, plan, decision) };

  const leaseUntil = new Date(now.getTime() + deps.writeLeaseMs).toISOString();
  const claim = await deps.repository.claimIdempotency({
    owner,
    key,
    requestHash,
    payoutId,
    state: 'PENDING',
    leaseUntil,
    createdAt: now.toISOString(),
    singlePayoutMax: deps.singlePayoutMax,
  });
  if (claim.outcome === 'exists') {
    const existing = claim.record;
    if (existing.requestHash !== requestHash) {
      throw new Refused(
        'idempotency-key-reused',
        'Idempotency-Key already used for another request',
        'this Idempotency-Key was used with a different body; use a new key for a new payout',
        { extra: { payoutId: existing.payoutId } },
      );
    }
    if (existing.state === 'COMMITTED') {
      const stored = await deps.repository.getPayoutWithBatches(existing.payoutId);
      if (!stored) throw new Error(`committed payout ${existing.payoutId} not found`);
      return { created: false, payout: payoutView(stored.payout, stored.batches) };
    }
    if (existing.leaseUntil > now.toISOString()) {
      const seconds = Math.max(
        1,
        Math.ceil((Date.parse(existing.leaseUntil) - now.getTime()) / 1000),
      );
      throw inProgress(Math.min(seconds, 5));
    }
    // The first writer's lease ran out: finish its work (the items are identical).
    const tookOver = await deps.repository.takeOverIdempotency(
      owner,
      key,
      existing.leaseUntil,
      leaseUntil,
    );
    if (!tookOver) {
      throw inProgress(1);
    }
    logger.warn('finishing a payout whose first writer did not complete', { payoutId });
    const plannedWith = existing.singlePayoutMax ?? 0;
    if (plannedWith !== deps.singlePayoutMax) {
      plan = planBatches(payoutId, request.recipients, request.currency, plannedWith);
    }
  }

  if (decision.dailyLimit) {
    const reserved = await deps.repository.reserveLimit({
      owner,
      currency: request.currency.code,
      payoutId,
      amount: plan.total,
      limit: decision.dailyLimit,
      now,
    });
    if (!reserved.ok) {
      await deps.repository.releaseIdempotency(owner, key, payoutId);
      const remaining = decision.dailyLimit.sub(reserved.used);
      const left = remaining.isNegative() ? Decimal.ZERO : remaining;
      throw new Refused(
        'daily-limit-exceeded',
        'The daily limit would be exceeded',
        `${left.toString()} ${request.currency.code} of the ${decision.dailyLimit.toString()} allowed in 24 hours remain; this payout is ${plan.total.toString()}`,
        {
          errors: [
            {
              path: '$.recipients',
              message: `total ${plan.total.toString()} is above the remaining daily allowance of ${left.toString()}`,
            },
          ],
          extra: { remaining: left.toString(), limit: decision.dailyLimit.toString() },
        },
      );
    }
  }

  const approval =
    decision.approvalsRequired > 0
      ? {
          required: decision.approvalsRequired,
          approvers: decision.approvers,
          deadline: new Date(now.getTime() + deps.policy.approvalTtlMs).toISOString(),
          approvals: [],
        }
      : undefined;
  const { payout, batches, withdrawals } = buildRecords(
    payoutId,
    owner,
    input,
    key,
    requestHash,
    request,
    plan,
    now,
    approval,
  );
  await deps.repository.writePayoutParts(batches, withdrawals);
  const committed = await deps.repository.commitPayout(payout);
  if (committed) emitMetrics({ PayoutsCreated: 1 });
  logger.info(committed ? 'payout accepted' : 'payout already committed', {
    payoutId,
    recipients: payout.recipientCount,
    batches: batches.length,
  });

  if (approval) {
    if (committed) await publishApprovalRequested(deps, payout, approval);
  } else
    try {
      await deps.trigger.trigger(payoutId);
    } catch (err) {
      // The reconciler submits anything left unsubmitted within one schedule period.
      logger.warn('could not hand the payout to submission; the reconciler will', {
        payoutId,
        error: err as Error,
      });
    }
  const stored = await deps.repository.getPayoutWithBatches(payoutId);
  if (!stored) throw new Error(`payout ${payoutId} not found after commit`);
  return { created: committed, payout: payoutView(stored.payout, stored.batches) };
}

function buildRecords(
  payoutId: string,
  owner: string,
  input: CreatePayoutInput,
  key: string,
  requestHash: string,
  request: PayoutRequest,
  plan: PayoutPlan,
  now: Date,
  approval: ApprovalRecord | undefined,
) {
  const at = now.toISOString();
  const payout: PayoutRecord = {
    id: payoutId,
    owner,
    createdBy: input.caller.principal,
    ...(input.caller.session !== undefined ? { createdBySession: input.caller.session } : {}),
    idempotencyKey: key,
    requestHash,
    currency: request.currency.code,
    name: request.name,
    ...(request.comment !== undefined ? { comment: request.comment } : {}),
    ...(request.executionDate ? { executionDate: request.executionDate } : {}),
    recipientCount: plan.recipientCount,
    total: plan.total.toString(),
    batchCount: plan.batches.length,
    state: approval ? 'PENDING_APPROVAL' : 'ACCEPTED',
    ...(approval ? { hold: 'approval' as const, approval } : {}),
    createdAt: at,
    updatedAt: at,
    ...(input.retryOf ? { retryOf: input.retryOf } : {}),
  };
  const batches: BatchRecord[] = plan.batches.map((b) => ({
    payoutId,
    index: b.index,
    idempotencyKey: b.idempotencyKey,
    currency: request.currency.code,
    kind: b.kind,
    recipientCount: b.recipients.length,
    total: b.total.toString(),
    // Held batches are looked at again when the approval runs out.
    status: approval ? 'HELD' : 'PENDING',
    attempts: 0,
    nextLookAt: approval ? approval.deadline : at,
    progressAt: at,
    ...(request.executionDate ? { executionDate: request.executionDate } : {}),
    withdrawalCounts: { [WITHDRAWAL_NOT_CREATED]: b.recipients.length },
    createdAt: at,
    updatedAt: at,
  }));
  const withdrawals: WithdrawalRecord[] = plan.batches.flatMap((b) =>
    b.recipients.map((r, position) => ({
      payoutId,
      owner,
      batchIndex: b.index,
      position,
      requestIndex: r.index,
      address: r.address,
      amount: r.amount.toString(),
      currency: request.currency.code,
      ...(r.externalId !== undefined ? { externalId: r.externalId } : {}),
      state: WITHDRAWAL_NOT_CREATED,
      updatedAt: at,
    })),
  );
  return { payout, batches, withdrawals };
}

export interface DryRunView {
  dryRun: true;
  currency: string;
  recipientCount: number;
  total: string;
  /** Approvals the payout policy would ask for (0: none). */
  approvalsRequired: number;
  batches: { index: number; kind: 'mass' | 'single'; recipientCount: number; total: string }[];
  balance: { available: string | null; covers: boolean | null; error?: string };
  funds: {
    feePercentage: string;
    feeSource: 'observed' | 'default';
    marginPercent: string;
    coins: {
      currency: string;
      needed: string;
      available: string | null;
      covers: boolean | null;
    }[];
  };
}

/**
 * What the payout would take from the account, by the estimate the funds check makes before
 * sending (per batch, summed per coin), against the balances Calypso reports now.
 */
async function dryRunView(
  deps: CreatePayoutDeps,
  request: PayoutRequest,
  plan: PayoutPlan,
  decision: PolicyDecision,
): Promise<DryRunView> {
  const currency = request.currency;
  const perCoin = new Map<string, Decimal>();
  // One plan is all single payouts or all mass payouts: one fee estimate.
  const fee = await feeEstimate(deps, deps.funds, currency.code, plan.batches[0]!.kind);
  for (const batch of plan.batches) {
    for (const need of batchNeeds(
      currency,
      batch.recipients.map((r) => r.amount),
      fee,
    )) {
      perCoin.set(need.currency, (perCoin.get(need.currency) ?? Decimal.ZERO).add(need.needed));
    }
  }
  const needs = [...perCoin].map(([coin, needed]) => ({ currency: coin, needed }));
  let balances: Map<string, Decimal> | undefined;
  let error: string | undefined;
  try {
    const account = await (await deps.calypso()).getAccount();
    balances = new Map(account.balances.map((b) => [b.currency, b.amount]));
  } catch (err) {
    logger.warn('balance lookup failed during a dry run', { error: err as Error });
    error = 'the Calypso balance could not be read';
  }
  const short = balances ? shortfalls(needs, balances) : undefined;
  const available = (coin: string) =>
    balances ? (balances.get(coin) ?? Decimal.ZERO).normalize().toString() : null;
  return {
    dryRun: true,
    currency: currency.code,
    recipientCount: plan.recipientCount,
    total: plan.total.toString(),
    approvalsRequired: decision.approvalsRequired,
    batches: plan.batches.map((b) => ({
      index: b.index,
      kind: b.kind,
      recipientCount: b.recipients.length,
      total: b.total.toString(),
    })),
    balance: {
      available: available(currency.code),
      covers: short ? short.length === 0 : null,
      ...(error ? { error } : {}),
    },
    funds: {
      feePercentage: fee.percentage.toString(),
      feeSource: fee.source,
      marginPercent: fee.marginPercent.toString(),
      coins: needs.map(({ currency: coin, needed }) => ({
        currency: coin,
        needed: needed.normalize().toString(),
        available: available(coin),
        covers: short ? !short.some((s) => s.currency === coin) : null,
      })),
    },
  };
}

/** Tells approvers (a chat bot, mail) that a payout waits for them. */
async function publishApprovalRequested(
  deps: CreatePayoutDeps,
  payout: PayoutRecord,
  approval: ApprovalRecord,
) {
  try {
    await deps.events.publish([
      {
        type: 'PayoutApprovalRequested',
        payoutId: payout.id,
        at: payout.createdAt,
        detail: {
          payoutId: payout.id,
          owner: payout.owner,
          createdBy: payout.createdBy,
          currency: payout.currency,
          total: payout.total,
          recipientCount: payout.recipientCount,
          approvalsRequired: approval.required,
          approvers: approval.approvers,
          deadline: approval.deadline,
        },
      },
    ]);
  } catch (err) {
    // The payout waits either way; approvers also find it with GET /approvals.
    logger.error('publishing PayoutApprovalRequested failed', {
      payoutId: payout.id,
      error: err as Error,
    });
  }
}
