#!/usr/bin/env node
/**
 * The project's test command: typecheck, lint, format check, then every vitest suite.
 * Ends with one line `N passed, N failed` (a failed check counts as one failure) and
 * exits non-zero on any failure or when no test ran.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const bin = (name) => join('node_modules', '.bin', name);
const resultsDir = '.test-results';
const resultsFile = join(resultsDir, 'vitest.json');
const extraArgs = process.argv.slice(2);

function run(label, command, args) {
  console.log(`\n== ${label}`);
  const started = Date.now();
  const result = spawnSync(command, args, { stdio: 'inherit' });
  const ok = result.status === 0;
  console.log(
    `== ${label}: ${ok ? 'ok' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  return ok;
}

const failedChecks = [];
if (!run('typecheck', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']))
  failedChecks.push('typecheck');
if (!run('lint', bin('eslint'), ['--max-warnings=0', '.'])) failedChecks.push('lint');
if (!run('format', bin('prettier'), ['--check', '--log-level=warn', '.']))
  failedChecks.push('format');

rmSync(resultsDir, { recursive: true, force: true });
mkdirSync(resultsDir, { recursive: true });
const vitestOk = run('tests', bin('vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${resultsFile}`,
  ...extraArgs,
]);

let passed = 0;
let failed = 0;
let total = 0;
try {
  const report = JSON.parse(readFileSync(resultsFile, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  total = report.numTotalTests ?? 0;
} catch {
  console.error('No vitest report was written: the test run did not complete.');
}

if (!vitestOk && failed === 0) failedChecks.push('tests (suite or setup error)');
failed += failedChecks.length;
if (failedChecks.length > 0) console.error(`\nFailed checks: ${failedChecks.join(', ')}`);
if (total === 0) console.error('\nNo test ran: that counts as a failure.');

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 && total > 0 && passed > 0 ? 0 : 1);
