/**
 * One local stack per data folder: a lock file in the folder names the process that holds it
 * (pid, and the API's URL once it is up), so a second `npm start` on the same folder is refused
 * with a message saying which one is running, instead of two DynamoDB Locals writing the same
 * files. A lock whose process is gone (killed, crashed) is stale and taken over.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'stack.lock';

export interface LockHolder {
  pid: number;
  startedAt: string;
  /** The local API, once it listens. */
  apiUrl?: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly lockPath: string,
    readonly holder: LockHolder,
  ) {
    super(
      `Another local stack is already running on the data folder ${dataDir}: pid ${holder.pid}` +
        `${holder.apiUrl ? `, API ${holder.apiUrl}` : ''}, started ${holder.startedAt}.\n` +
        `Stop it first (Ctrl-C in its terminal, or kill ${holder.pid}), or start this one with ` +
        `--data-dir DIR or --in-memory.\n` +
        `If no stack is running there, pid ${holder.pid} is another program: delete ${lockPath}.`,
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  path: string;
  /** Adds to what the lock says about its holder (the API's URL, once known). */
  update(info: Partial<LockHolder>): void;
  /** Removes the lock, if it is still ours. Safe to call more than once. */
  release(): void;
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || !Number.isInteger(parsed.pid) || parsed.pid <= 0)
      return undefined;
    return { startedAt: 'at an unknown time', ...parsed, pid: parsed.pid };
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock of `dataDir` for this process, or throws DataDirLockedError naming the live
 * holder. The file appears complete or not at all (written aside, then hard-linked into place,
 * which fails if a lock is already there).
 */
export function lockDataDir(dataDir: string, now: Date = new Date()): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  let holder: LockHolder = { pid: process.pid, startedAt: now.toISOString() };
  const write = (target: string) => writeFileSync(target, `${JSON.stringify(holder)}\n`);

  for (let attempt = 0; ; attempt++) {
    const aside = `${path}.${process.pid}.tmp`;
    write(aside);
    try {
      linkSync(aside, path);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      const current = readHolder(path);
      if (current && isProcessAlive(current.pid))
        throw new DataDirLockedError(dataDir, path, current);
      // Stale (its process is gone) or unreadable: take it over.
      unlinkSync(path);
    } finally {
      unlinkSync(aside);
    }
  }

  let released = false;
  return {
    path,
    update(info) {
      if (released) return;
      holder = { ...holder, ...info };
      const aside = `${path}.${process.pid}.tmp`;
      write(aside);
      renameSync(aside, path);
    },
    release() {
      if (released) return;
      released = true;
      if (readHolder(path)?.pid !== process.pid) return;
      try {
        unlinkSync(path);
      } catch {
        // Already gone.
      }
    },
  };
}
