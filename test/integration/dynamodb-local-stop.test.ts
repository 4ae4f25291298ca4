/**
 * Stopping DynamoDB Local finishes in a process with nothing else to do (a script, the bench):
 * the wait for its watchdog must keep the process alive, or the process ends mid-stop and
 * whatever follows the stop never runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('DynamoDB Local, stopped by a script', () => {
  it('runs what comes after stop()', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ddb-stop-'));
    try {
      const script = join(dir, 'stop.mts');
      writeFileSync(
        script,
        [
          `import { startDynamoDbLocal } from ${JSON.stringify(join(root, 'infra/local/dynamodb-local.ts'))};`,
          'const db = await startDynamoDbLocal();',
          'await db.stop();',
          "console.log('after stop');",
        ].join('\n'),
      );
      const run = spawnSync(join(root, 'node_modules/.bin/tsx'), [script], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.stdout.trim()).toBe('after stop');
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
