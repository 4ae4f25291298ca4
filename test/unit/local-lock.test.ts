/** The data folder's lock: one local stack per folder, stale locks taken over. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DataDirLockedError,
  isProcessAlive,
  lockDataDir,
  LOCK_FILE,
} from '../../infra/local/lock.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'payouts-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has ended. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  expect(isProcessAlive(child.pid!)).toBe(false);
  return child.pid!;
}

describe('lockDataDir', () => {
  it('refuses a second holder, naming the running one by pid and API URL', () => {
    const lock = lockDataDir(dir, new Date('2030-01-01T00:00:00Z'));
    lock.update({ apiUrl: 'http://127.0.0.1:3456' });
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toEqual({
      pid: process.pid,
      startedAt: '2030-01-01T00:00:00.000Z',
      apiUrl: 'http://127.0.0.1:3456',
    });

    let refusal: unknown;
    try {
      lockDataDir(dir);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(DataDirLockedError);
    const message = (refusal as Error).message;
    expect(message).toContain(`data folder ${dir}: pid ${process.pid}, API http://127.0.0.1:3456`);
    expect(message).toContain(`kill ${process.pid}`);
    // The refused attempt left the holder's lock as it was.
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).apiUrl).toBe(
      'http://127.0.0.1:3456',
    );

    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    lockDataDir(dir).release();
  });

  it('takes over a lock whose process is gone, or that cannot be read', () => {
    const pid = deadPid();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, startedAt: 'x' }));
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    lock.release();

    writeFileSync(join(dir, LOCK_FILE), '');
    lockDataDir(dir).release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('does not remove a lock that another process took after ours', () => {
    const lock = lockDataDir(dir);
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.ppid, startedAt: 'y' }));
    lock.release();
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.ppid);
  });
});
