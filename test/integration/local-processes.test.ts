/**
 * The local platform's processes from the outside: `npm start` refuses a data folder another
 * running stack holds, and a DynamoDB Local outlives no one that started it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isProcessAlive, LOCK_FILE } from '../../infra/local/lock.js';
import { isListening, runToEnd, waitFor } from '../e2e/support/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'payouts-local-'));
  dirs.push(dir);
  return dir;
}

describe('npm start on a data folder in use', () => {
  it('is refused with a message naming the running stack, before starting anything', async () => {
    const dataDir = tempDir();
    // This test's own process plays the running stack: alive, with its API's URL.
    writeFileSync(
      join(dataDir, LOCK_FILE),
      JSON.stringify({
        pid: process.pid,
        startedAt: '2030-01-01T00:00:00.000Z',
        apiUrl: 'http://127.0.0.1:45678',
      }),
    );
    const result = await runToEnd(
      process.execPath,
      ['--import', 'tsx', 'infra/local/start.ts', '--data-dir', dataDir],
      { cwd: ROOT, env: { ...process.env, PORT: '0' }, timeoutMs: 60_000 },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `Another local stack is already running on the data folder ${dataDir}: pid ${process.pid}, API http://127.0.0.1:45678`,
    );
    // Nothing was started: no DynamoDB files, and the running stack's lock is untouched.
    expect(existsSync(join(dataDir, 'dynamodb'))).toBe(false);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(true);
  }, 90_000);
});

describe('DynamoDB Local', () => {
  it('stops when the process that started it is killed outright', async () => {
    const script = [
      `const { startDynamoDbLocal } = await import(${JSON.stringify(join(ROOT, 'infra/local/dynamodb-local.ts'))});`,
      'const dynamo = await startDynamoDbLocal();',
      'console.log(JSON.stringify({ pid: dynamo.pid, port: dynamo.port }));',
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const parent = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    parent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    parent.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let jvm: number | undefined;
    try {
      const started = await waitFor(
        () => {
          const line = /^\{"pid":\d+,"port":\d+\}$/m.exec(output)?.[0];
          return line ? (JSON.parse(line) as { pid: number; port: number }) : undefined;
        },
        { timeoutMs: 60_000, what: 'DynamoDB Local to start', describe: () => output },
      );
      jvm = started.pid;
      expect(isProcessAlive(started.pid)).toBe(true);
      expect(await isListening(started.port)).toBe(true);

      parent.kill('SIGKILL');
      await waitFor(() => !isProcessAlive(started.pid) || undefined, {
        timeoutMs: 15_000,
        what: 'the JVM to stop after its parent was killed',
      });
      expect(await isListening(started.port)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
      if (jvm !== undefined && isProcessAlive(jvm)) process.kill(jvm, 'SIGKILL');
    }
  }, 90_000);
});
