/**
 * The sandbox clock and the scheduler that runs the provider's asynchronous work (withdrawal
 * creation, sending, settlement, webhook deliveries) when it falls due on that clock.
 *
 * - Manual clock: time moves only with `advance(ms)`, which runs every task due up to the new
 *   time, in order of due time and then of scheduling, awaiting each one (webhook POSTs included).
 * - Realtime clock: the wall clock; a timer runs tasks as they fall due.
 * Either way tasks run one at a time, never concurrently.
 */
import { SandboxUsageError } from './errors.js';

export interface SandboxClock {
  readonly mode: 'manual' | 'realtime';
  now(): number;
  /** The sandbox time `ms` from now (a realtime clock with a speed shortens it). */
  after(ms: number): number;
}

export class ManualClock implements SandboxClock {
  readonly mode = 'manual';

  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  after(ms: number): number {
    return this.current + ms;
  }

  /** Moves forward to `time`; never backwards. */
  moveTo(time: number): void {
    if (time > this.current) this.current = time;
  }
}

export class RealtimeClock implements SandboxClock {
  readonly mode = 'realtime';
  private offset = 0;

  constructor(private readonly speed: number) {
    if (!(speed > 0) || !Number.isFinite(speed))
      throw new SandboxUsageError(`bad clock speed ${speed}`);
  }

  now(): number {
    return Date.now() + this.offset;
  }

  after(ms: number): number {
    return this.now() + Math.round(ms / this.speed);
  }

  /** Jumps ahead of the wall clock by `ms`. */
  skip(ms: number): void {
    this.offset += ms;
  }
}

interface Task {
  due: number;
  seq: number;
  label: string;
  run: () => void | Promise<void>;
}

/** Longest delay setTimeout accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Scheduler {
  private tasks: Task[] = [];
  private seq = 0;
  /** Serialises runs: one task at a time, advance() calls queue behind each other. */
  private lane: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly clock: ManualClock | RealtimeClock,
    private readonly onError: (label: string, error: unknown) => void,
  ) {}

  /** Runs `run` at sandbox time `due` (at once, on the next run, if that is already past). */
  at(due: number, label: string, run: () => void | Promise<void>): void {
    if (this.closed) return;
    const task: Task = { due, seq: this.seq++, label, run };
    // Keep the list sorted by due time; equal times keep scheduling order.
    let low = 0;
    let high = this.tasks.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.tasks[mid]!.due <= due) low = mid + 1;
      else high = mid;
    }
    this.tasks.splice(low, 0, task);
    this.arm();
  }

  /** Runs `run` `ms` of sandbox time from now. */
  after(ms: number, label: string, run: () => void | Promise<void>): void {
    this.at(this.clock.after(ms), label, run);
  }

  pending(): number {
    return this.tasks.length;
  }

  /** Drops every pending task. */
  clear(): void {
    this.tasks = [];
    this.arm();
  }

  /** Moves the clock forward by `ms` and runs everything due; resolves when all of it settled. */
  advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0)
      return Promise.reject(new SandboxUsageError(`bad advance ${ms}`));
    return this.exclusive(async () => {
      if (this.clock instanceof ManualClock) {
        const target = this.clock.now() + ms;
        await this.runDue(() => target);
        this.clock.moveTo(target);
      } else {
        this.clock.skip(ms);
        await this.runDue(() => this.clock.now());
      }
    });
  }

  /** Stops the timer and waits for the task under way, if any. */
  async close(): Promise<void> {
    this.closed = true;
    this.tasks = [];
    if (this.timer) clearTimeout(this.timer);
    await this.lane;
  }

  private exclusive(work: () => Promise<void>): Promise<void> {
    const run = this.lane.then(work);
    this.lane = run.catch(() => undefined);
    return run.finally(() => this.arm());
  }

  private async runDue(target: () => number): Promise<void> {
    for (;;) {
      const next = this.tasks[0];
      if (this.closed || !next || next.due > target()) return;
      this.tasks.shift();
      if (this.clock instanceof ManualClock) this.clock.moveTo(next.due);
      try {
        await next.run();
      } catch (error) {
        this.onError(next.label, error);
      }
    }
  }

  /** Realtime only: wakes up when the earliest task falls due. */
  private arm(): void {
    if (!(this.clock instanceof RealtimeClock)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.tasks[0];
    if (this.closed || !next) return;
    const wait = Math.min(Math.max(0, next.due - this.clock.now()), MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.exclusive(() => this.runDue(() => this.clock.now()));
    }, wait);
    this.timer.unref();
  }
}
