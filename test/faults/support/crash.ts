/**
 * Simulated process death. A `Process` stands for one function invocation: every call it makes
 * to the outside world (repository, Calypso, event bus) is a numbered step. Told to die at step N,
 * it throws `Crash` there, either before the call goes out or after it took effect but before its
 * answer is read, and from then on every further call fails without reaching anything, as the
 * calls of a dead process would. Catch blocks in the code under test still run, but they can no
 * longer change anything: the world sees exactly what a crash at that point leaves behind.
 */
import type { EventPublisher } from '../../../shared/payouts/events.js';
import type { CalypsoApi, CalypsoProvider } from '../../../shared/payouts/ports.js';
import type { TrackDeps } from '../../../shared/payouts/track.js';
import type { PayoutRepository } from '../../../shared/store/payout-repository.js';

export class Crash extends Error {
  constructor(readonly step: string) {
    super(`the process died at ${step}`);
    this.name = 'Crash';
  }
}

export type Phase = 'before' | 'after';

export interface CrashPoint {
  /** Index of the step to die at. */
  at: number;
  /** Before the call goes out, or after it took effect (its answer never read). */
  phase: Phase;
}

export class Process {
  readonly steps: string[] = [];
  diedAt: string | undefined;

  constructor(private readonly crash?: CrashPoint) {}

  get dead(): boolean {
    return this.diedAt !== undefined;
  }

  private die(step: string): never {
    this.diedAt ??= step;
    throw new Crash(step);
  }

  async step<T>(name: string, run: () => Promise<T>): Promise<T> {
    if (this.dead) throw new Crash(`${name} (after dying at ${this.diedAt})`);
    const index = this.steps.push(name) - 1;
    const label = `#${index} ${name}`;
    if (this.crash?.at === index && this.crash.phase === 'before') this.die(label);
    const result = await run();
    if (this.dead) throw new Crash(`${name} (answered after dying at ${this.diedAt})`);
    if (this.crash?.at === index && this.crash.phase === 'after') this.die(label);
    return result;
  }
}

/** Public repository methods a use case may call (each one call to DynamoDB or a short run of them). */
const REPOSITORY_METHODS = [
  'claimIdempotency',
  'getIdempotency',
  'takeOverIdempotency',
  'writePayoutParts',
  'commitPayout',
  'getPayout',
  'getPayoutWithBatches',
  'getBatch',
  'listBatchWithdrawals',
  'listWithdrawals',
  'findBatchWithdrawalByExternalId',
  'findWithdrawalsByExternalId',
  'beginSubmission',
  'updateBatch',
  'setPayoutState',
  'resolveProviderKey',
  'listDueBatches',
  'updateWithdrawal',
  'appendAudit',
  'listAudit',
  'putWebhookEvent',
  'getWebhookEvent',
  'setWebhookVerdict',
  'addRetriedBy',
  'getFeeSeen',
  'putFeeSeen',
] as const satisfies readonly (keyof PayoutRepository)[];

/** Steps that change something (in DynamoDB, at Calypso, on the event bus). */
const WRITES = new Set([
  'repository.claimIdempotency',
  'repository.takeOverIdempotency',
  'repository.writePayoutParts',
  'repository.commitPayout',
  'repository.beginSubmission',
  'repository.updateBatch',
  'repository.setPayoutState',
  'repository.updateWithdrawal',
  'repository.appendAudit',
  'repository.putWebhookEvent',
  'repository.setWebhookVerdict',
  'repository.addRetriedBy',
  'calypso.createMassPayout',
  'calypso.createPayout',
  'repository.putFeeSeen',
  'events.publish',
]);

/**
 * Every distinct place a process can die, given the steps of an undisturbed run: before each
 * step, and after each step that changed something (after a read, the world is the same as
 * before the next step).
 */
export function crashPoints(steps: readonly string[]) {
  return steps.flatMap((step, at) =>
    (WRITES.has(step) ? (['before', 'after'] as const) : (['before'] as const)).map((phase) => ({
      step,
      at,
      phase,
    })),
  );
}

export interface RepositoryHooks {
  /** Replaces the real call for one method (e.g. to write only part of a payout). */
  override?: Partial<Record<(typeof REPOSITORY_METHODS)[number], (...args: any[]) => Promise<any>>>;
  /** Keeps only what this predicate accepts from listDueBatches (a tick that sees one payout). */
  dueFilter?: (batch: { payoutId: string }) => boolean;
}

/** The repository (or the stores a use case takes of it) with every call a step of `proc`. */
export function crashingRepository<R extends Partial<PayoutRepository>>(
  repository: R,
  proc: Process,
  hooks: RepositoryHooks = {},
): R {
  const wrapped = Object.create(repository) as R;
  for (const name of REPOSITORY_METHODS) {
    const method = hooks.override?.[name] ?? repository[name];
    if (typeof method !== 'function') continue;
    const real = (method as (...a: any[]) => Promise<any>).bind(repository);
    (wrapped as any)[name] = (...args: any[]) =>
      proc.step(`repository.${name}`, async () => {
        const result = await real(...args);
        if (name === 'listDueBatches' && hooks.dueFilter)
          return (result as { payoutId: string }[]).filter(hooks.dueFilter);
        return result;
      });
  }
  return wrapped;
}

export function crashingCalypso(provider: CalypsoProvider, proc: Process): CalypsoProvider {
  return async () => {
    const client = await provider();
    const wrapped: CalypsoApi = {
      createMassPayout: (input) =>
        proc.step('calypso.createMassPayout', () => client.createMassPayout(input)),
      getMassPayout: (by) => proc.step('calypso.getMassPayout', () => client.getMassPayout(by)),
      listWithdrawals: (filter, options) =>
        proc.step('calypso.listWithdrawals', () => client.listWithdrawals(filter, options)),
      createPayout: (input) => proc.step('calypso.createPayout', () => client.createPayout(input)),
      getPayout: (by) => proc.step('calypso.getPayout', () => client.getPayout(by)),
      getAccount: () => proc.step('calypso.getAccount', () => client.getAccount()),
    };
    return wrapped;
  };
}

export function crashingEvents(events: EventPublisher, proc: Process): EventPublisher {
  return { publish: (list) => proc.step('events.publish', () => events.publish(list)) };
}

/** The submission and tracking ports, every call going through `proc`. */
export function crashingTrackDeps(
  deps: TrackDeps,
  proc: Process,
  hooks: RepositoryHooks = {},
): TrackDeps {
  return {
    ...deps,
    repository: crashingRepository(deps.repository, proc, hooks),
    calypso: crashingCalypso(deps.calypso, proc),
    events: crashingEvents(deps.events, proc),
  };
}
