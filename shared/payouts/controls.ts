/**
 * The treasury's controls on a payout before money moves: approve (four-eyes: never the creator,
 * whatever its session), reject, cancel while nothing has been sent, the approval's expiry, and
 * the emergency pause of all submission.
 *
 * Submission is fenced on the payout item (`hold`) and on the pause item, both checked in the same
 * transaction as each batch's claim, so a cancel, a hold or a pause that wins the race stops the
 * call to Calypso; one that loses finds the batch claimed and refuses (Conflict) with the reason.
 */
import type { Caller } from '../domain/identity.js';
import {
  batchTransition,
  type AuditEntry,
  type BatchRecord,
  type PayoutRecord,
} from '../domain/payout.js';
import { logger } from '../observability.js';
import type { AuditStore } from '../store/audit-store.js';
import type { ControlStore, PauseRecord } from '../store/controls-store.js';
import type { PayoutStore } from '../store/payouts-store.js';
import type { CreatePayoutDeps } from './create-payout.js';
import { Conflict, Forbidden, InvalidRequest, NotFound } from './errors.js';
import type { DomainEvent } from './events.js';
import { checkId, withCursor } from './queries.js';
import { recordPayoutState } from './record.js';
import type { PauseView, PayoutPage } from './schemas.js';
import { payoutView, type PayoutView } from './views.js';

export type ControlDeps = Pick<
  CreatePayoutDeps,
  'access' | 'policy' | 'events' | 'clock' | 'trigger'
> & { repository: PayoutStore & AuditStore & ControlStore };

/** What cancelling needs (the reconciler cancels expired approvals with it). */
export type CancelDeps = Pick<ControlDeps, 'repository' | 'clock' | 'events'>;

/** What deciding on a payout without handing it to submission needs (reject, cancel, pause). */
export type DecideDeps = Omit<ControlDeps, 'trigger'>;

/** What listing the approvals awaiting a caller needs. */
export type ApprovalsDeps = Pick<ControlDeps, 'repository' | 'policy'>;

const REASON_MAX = 500;

/** The reason a caller gave: required text, without control characters. */
export function checkReason(body: unknown, required: boolean): string | undefined {
  const reason = (body as { reason?: unknown } | undefined)?.reason;
  if (reason === undefined && !required) return undefined;
  if (typeof reason !== 'string' || reason.trim() === '') {
    throw new InvalidRequest([{ path: '$.reason', message: 'is required: say why' }]);
  }
  // eslint-disable-next-line no-control-regex
  if (reason.length > REASON_MAX || /[\u0000-\u001f\u007f-\u009f]/.test(reason)) {
    throw new InvalidRequest([
      {
        path: '$.reason',
        message: `must be at most ${REASON_MAX} characters, without control characters`,
      },
    ]);
  }
  return reason.trim();
}

const actorOf = (caller: Caller) => ({
  actor: caller.principal,
  ...(caller.session !== undefined ? { actorSession: caller.session } : {}),
});

async function publish(deps: Pick<ControlDeps, 'events'>, events: DomainEvent[]) {
  try {
    await deps.events.publish(events);
  } catch (err) {
    // The audit trail holds every control action; subscribers can catch up from the API.
    logger.error('publishing control events failed', { error: err as Error });
  }
}

async function view(deps: Pick<ControlDeps, 'repository'>, payoutId: string): Promise<PayoutView> {
  const stored = await deps.repository.getPayoutWithBatches(payoutId);
  if (!stored) throw new Error(`payout ${payoutId} vanished`);
  return payoutView(stored.payout, stored.batches, await deps.repository.getPause());
}

/** A payout the caller may read, else the same NotFound as for one that does not exist. */
async function readable(deps: DecideDeps, caller: Caller, id: string | undefined) {
  const payoutId = checkId(id);
  const stored = await deps.repository.getPayoutWithBatches(payoutId);
  const visible =
    stored &&
    (deps.access.mayRead(caller, stored.payout.owner) ||
      (stored.payout.approval !== undefined &&
        deps.policy.isApprover(caller, stored.payout.approval.approvers)));
  if (!stored || !visible) throw new NotFound(`payout ${payoutId}`);
  return stored;
}

function checkApprover(deps: Pick<ControlDeps, 'policy'>, caller: Caller, payout: PayoutRecord) {
  const approval = payout.approval;
  if (!approval || payout.hold !== 'approval') {
    throw new Conflict(
      'not-pending-approval',
      'The payout is not awaiting approval',
      payout.hold === 'canceled'
        ? `it was cancelled (${payout.cancellation?.reason ?? 'no reason'})`
        : 'it needs no approval, or has all it needs',
    );
  }
  if (!deps.policy.isApprover(caller, approval.approvers)) {
    throw new Forbidden(
      'not-an-approver',
      'You may not approve this payout',
      `approvers: ${approval.approvers.join(', ')}`,
    );
  }
  // Four-eyes: the creator's principal never approves its own payout, from any session.
  if (caller.principal === payout.createdBy) {
    throw new Forbidden(
      'own-payout',
      'You may not approve or reject your own payout',
      'another approver must decide (four-eyes)',
    );
  }
}

export async function approvePayout(
  deps: ControlDeps,
  caller: Caller,
  id: string | undefined,
): Promise<{ payout: PayoutView }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const { payout } = await readable(deps, caller, id);
    checkApprover(deps, caller, payout);
    const approval = payout.approval!;
    const now = deps.clock.now();
    if (Date.parse(approval.deadline) <= now.getTime()) {
      throw new Conflict(
        'approval-expired',
        'The approval window has closed',
        `approvals were due by ${approval.deadline}; the payout will be cancelled`,
      );
    }
    if (approval.approvals.some((a) => a.principal === caller.principal)) {
      throw new Conflict(
        'already-approved',
        'You already approved this payout',
        `${approval.required} distinct approvers are needed; ${approval.approvals.length} approved so far`,
      );
    }
    const at = now.toISOString();
    const given = {
      principal: caller.principal,
      ...(caller.session !== undefined ? { session: caller.session } : {}),
      at,
    };
    const completes = approval.approvals.length + 1 >= approval.required;
    if (
      !(await deps.repository.addApproval(payout.id, approval.approvals.length, given, completes))
    )
      continue; // another approval, a cancel or the expiry got in first: look again
    const audit: AuditEntry[] = [
      {
        payoutId: payout.id,
        at,
        entity: 'payout',
        field: 'approval',
        from: String(approval.approvals.length),
        to: String(approval.approvals.length + 1),
        cause: 'api',
        ...actorOf(caller),
        detail: `approved (${approval.approvals.length + 1} of ${approval.required})`,
      },
    ];
    if (completes) await releaseHeldBatches(deps, payout.id, audit, 'api');
    await recordPayoutState(deps, payout.id, now, 'api', audit, actorOf(caller));
    await publish(deps, [
      {
        type: 'PayoutApproved',
        payoutId: payout.id,
        at,
        detail: {
          payoutId: payout.id,
          by: caller.principal,
          approvals: approval.approvals.length + 1,
          required: approval.required,
          complete: completes,
        },
      },
    ]);
    if (completes) {
      try {
        await deps.trigger.trigger(payout.id);
      } catch (err) {
        logger.warn('could not hand the approved payout to submission; the reconciler will', {
          payoutId: payout.id,
          error: err as Error,
        });
      }
    }
    return { payout: await view(deps, payout.id) };
  }
  throw new Conflict('busy', 'The payout changed while approving', 'try again');
}

/** Moves an approved payout's held batches to PENDING, due now (idempotent). */
export async function releaseHeldBatches(
  deps: Pick<ControlDeps, 'repository' | 'clock'>,
  payoutId: string,
  audit: AuditEntry[],
  cause: 'api' | 'reconcile',
): Promise<void> {
  const stored = await deps.repository.getPayoutWithBatches(payoutId);
  if (!stored) return;
  const at = deps.clock.now().toISOString();
  for (const batch of stored.batches.filter((b) => b.status === 'HELD')) {
    const moved = await deps.repository.updateBatch(
      payoutId,
      batch.index,
      { set: { status: 'PENDING', nextLookAt: at, progressAt: at, updatedAt: at } },
      { status: ['HELD'] },
    );
    if (moved)
      audit.push(
        batchTransition(batch, { field: 'status', from: 'HELD', to: 'PENDING', cause, at }),
      );
  }
}

export async function rejectPayout(
  deps: DecideDeps,
  caller: Caller,
  id: string | undefined,
  body: unknown,
): Promise<{ payout: PayoutView }> {
  const reason = checkReason(body, true)!;
  const { payout } = await readable(deps, caller, id);
  checkApprover(deps, caller, payout);
  return cancelNow(deps, caller, payout, `rejected: ${reason}`, 'PayoutRejected');
}

export async function cancelPayout(
  deps: DecideDeps,
  caller: Caller,
  id: string | undefined,
  body: unknown,
): Promise<{ payout: PayoutView }> {
  const reason = checkReason(body, false) ?? 'cancelled';
  const { payout } = await readable(deps, caller, id);
  const approver =
    payout.approval !== undefined && deps.policy.isApprover(caller, payout.approval.approvers);
  if (!deps.access.owns(caller, payout.owner) && !approver) {
    throw new Forbidden(
      'not-allowed',
      'You may not cancel this payout',
      'only its owner or one of its approvers may',
    );
  }
  return cancelNow(deps, caller, payout, reason, 'PayoutCanceled');
}

/** Ends payouts whose approvals did not come in time (run by the reconciler). */
export async function expireApproval(deps: CancelDeps, payout: PayoutRecord): Promise<boolean> {
  if (payout.hold !== 'approval' || !payout.approval) return false;
  if (Date.parse(payout.approval.deadline) > deps.clock.now().getTime()) return false;
  try {
    await cancelNow(deps, undefined, payout, 'approval-expired', 'PayoutCanceled');
    return true;
  } catch (err) {
    if (err instanceof Conflict) return false;
    throw err;
  }
}

/**
 * Fences the payout off from submission, then cancels every batch, or, when something had been
 * sent before the fence went up, takes the fence down again and refuses.
 */
async function cancelNow(
  deps: CancelDeps,
  caller: Caller | undefined,
  payout: PayoutRecord,
  reason: string,
  event: 'PayoutRejected' | 'PayoutCanceled',
): Promise<{ payout: PayoutView }> {
  const now = deps.clock.now();
  const at = now.toISOString();
  if (payout.hold === 'canceled') {
    throw new Conflict(
      'already-canceled',
      'The payout is already cancelled',
      payout.cancellation?.reason ?? 'cancelled',
    );
  }
  const by = caller?.principal ?? 'system:reconciler';
  const cancellation = {
    reason,
    by,
    ...(caller?.session !== undefined ? { session: caller.session } : {}),
    at,
  };
  // The expiry cancels only what still awaits approval (an approval may have come in time).
  const onlyWhileHeld = caller === undefined ? 'approval' : undefined;
  if (!(await deps.repository.fenceForCancel(payout.id, cancellation, onlyWhileHeld))) {
    throw new Conflict(
      'already-canceled',
      'The payout is already cancelled',
      'cancelled meanwhile',
    );
  }
  // Any batch claimed (even once: its outcome may be at Calypso) means something left.
  const { batches } = (await deps.repository.getPayoutWithBatches(payout.id))!;
  // A batch waiting for funds was claimed only for funds checks, which end before any create.
  const sent = batches.filter(
    (b) =>
      (b.status !== 'PENDING' && b.status !== 'HELD' && b.status !== 'AWAITING_FUNDS') ||
      b.attempts > (b.fundsWaits ?? 0),
  );
  if (sent.length > 0) {
    await deps.repository.liftCancelFence(payout.id, payout.hold, at);
    throw new Conflict(
      'already-submitted',
      'Part of the payout has been sent to Calypso',
      `batch ${sent.map((b) => b.index).join(', ')} ${sent.length === 1 ? 'is' : 'are'} at Calypso (or may be); a payout is cancelled only while nothing of it has been sent, and batches at Calypso are never touched`,
    );
  }
  const cause = caller ? 'api' : 'reconcile';
  const actor = caller ? actorOf(caller) : {};
  const audit: AuditEntry[] = [];
  for (const batch of batches) await cancelBatch(deps, batch, at, cause, audit);
  await deps.repository.appendAudit([
    {
      payoutId: payout.id,
      at,
      entity: 'payout',
      field: 'cancellation',
      from: null,
      to: event === 'PayoutRejected' ? 'rejected' : 'canceled',
      cause,
      ...actor,
      detail: reason,
    },
  ]);
  await recordPayoutState(deps, payout.id, now, cause, audit, actor);
  await deps.repository.releaseLimit(payout.owner, payout.currency, payout.id);
  await publish(deps, [
    {
      type: event,
      payoutId: payout.id,
      at,
      detail: { payoutId: payout.id, by, reason },
    },
  ]);
  logger.info('payout cancelled before anything was sent', { payoutId: payout.id, reason });
  return { payout: await view(deps, payout.id) };
}

export async function cancelBatch(
  deps: Pick<ControlDeps, 'repository'>,
  batch: BatchRecord,
  at: string,
  cause: 'api' | 'reconcile',
  audit: AuditEntry[],
) {
  const moved = await deps.repository.updateBatch(
    batch.payoutId,
    batch.index,
    { set: { status: 'CANCELED', progressAt: at, updatedAt: at }, remove: ['stuck'] },
    { status: ['PENDING', 'HELD', 'AWAITING_FUNDS'] },
  );
  if (moved)
    audit.push(
      batchTransition(batch, { field: 'status', from: batch.status, to: 'CANCELED', cause, at }),
    );
}

/** Payouts awaiting this caller's approval (the creator's own are not listed). */
export async function pendingApprovals(
  deps: ApprovalsDeps,
  caller: Caller,
  query: { cursor?: string },
): Promise<PayoutPage> {
  const items: PayoutView[] = [];
  let cursor = query.cursor;
  // A page of what this caller may approve, however many others' the index holds.
  for (let pages = 0; pages < 10 && items.length < 100; pages++) {
    const from = cursor;
    const page = await withCursor(() =>
      deps.repository.listPendingApproval({ limit: 100, ...(from ? { cursor: from } : {}) }),
    );
    for (const payout of page.items) {
      if (
        payout.approval &&
        payout.createdBy !== caller.principal &&
        deps.policy.isApprover(caller, payout.approval.approvers) &&
        !payout.approval.approvals.some((a) => a.principal === caller.principal)
      ) {
        items.push(payoutView(payout, []));
      }
    }
    cursor = page.cursor;
    if (!cursor) break;
  }
  return { items, cursor: cursor ?? null };
}

// ---- the emergency pause -----------------------------------------------------------------

function checkOperator(deps: Pick<ControlDeps, 'policy'>, caller: Caller) {
  if (!deps.policy.isOperator(caller)) {
    throw new Forbidden(
      'not-an-operator',
      'Only an operator may pause or resume',
      'operators are listed in the payout policy (operators)',
    );
  }
}

export async function setPaused(
  deps: DecideDeps,
  caller: Caller,
  paused: boolean,
  body: unknown,
): Promise<{ pause: PauseView }> {
  checkOperator(deps, caller);
  const reason = checkReason(body, paused);
  const at = deps.clock.now().toISOString();
  const record: PauseRecord = {
    paused,
    by: caller.principal,
    ...(caller.session !== undefined ? { session: caller.session } : {}),
    ...(reason !== undefined ? { reason } : {}),
    at,
  };
  const changed = await deps.repository.setPause(record);
  if (changed) {
    logger.warn(paused ? 'submission paused' : 'submission resumed', {
      by: caller.principal,
      reason,
    });
    await publish(deps, [
      {
        type: paused ? 'SubmissionPaused' : 'SubmissionResumed',
        payoutId: '',
        at,
        detail: { by: caller.principal, ...(reason !== undefined ? { reason } : {}) },
      },
    ]);
  }
  return { pause: pauseView(await deps.repository.getPause()) };
}

export function pauseView(pause: PauseRecord | undefined): PauseView {
  return {
    paused: pause?.paused ?? false,
    since: pause?.paused ? pause.at : null,
    by: pause?.paused ? pause.by : null,
    reason: pause?.paused ? (pause.reason ?? null) : null,
  };
}
