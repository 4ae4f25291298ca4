/**
 * Child processes for end-to-end tests: start a long-running one and keep its output, run a
 * short one to completion, wait on a condition by polling, and look at what is left running.
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LongRunning {
  child: ChildProcess;
  pid: number;
  /** Everything written to stdout and stderr so far, interleaved. */
  output(): string;
  /** The exit, once it happened. */
  exit(): Exit | undefined;
  exited: Promise<Exit>;
}

/**
 * Starts a process in its own process group (so the group can be signalled or killed as a
 * whole, as a terminal does), collecting its output.
 */
export function startLongRunning(
  command: string,
  args: string[],
  options: Pick<SpawnOptions, 'cwd' | 'env'>,
): LongRunning {
  const child = spawn(command, args, {
    ...options,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (error) => {
      output += `\n[spawn error] ${error.message}\n`;
      exit ??= { code: null, signal: null };
      resolve(exit);
    });
    // `close`: the process ended and its output was read to the end.
    child.once('close', (code, signal) => {
      exit ??= { code, signal };
      resolve(exit);
    });
  });
  return { child, pid: child.pid, output: () => output, exit: () => exit, exited };
}

/** Kills a process group started by startLongRunning, whatever is still in it. */
export function killGroup(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export interface Finished extends Exit {
  stdout: string;
  stderr: string;
}

/** Runs a process to its end; kills it and fails when it takes longer than `timeoutMs`. */
export function runToEnd(
  command: string,
  args: string[],
  options: Pick<SpawnOptions, 'cwd' | 'env'> & { timeoutMs: number },
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${command} ${args.join(' ')} did not end within ${options.timeoutMs} ms\n` +
            `stdout:\n${stdout.slice(-3000)}\nstderr:\n${stderr.slice(-3000)}`,
        ),
      );
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Polls `probe` until it returns something other than undefined; fails after `timeoutMs` with
 * `describe()` (for example a process's output) in the message.
 */
export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; what: string; describe?: () => string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const detail = options.describe ? `\n${options.describe()}` : '';
      throw new Error(
        `timed out after ${options.timeoutMs} ms waiting for ${options.what}${detail}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}

/** A TCP port nobody listens on right now, on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(2_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Process group. */
  pgid: number;
  /** `ps` state letters; a zombie (ended, not yet reaped) starts with `Z`. */
  stat: string;
  args: string;
}

/** Every process on the machine, from `ps`. */
export async function processList(): Promise<ProcessInfo[]> {
  const { stdout } = await execFileAsync('ps', ['-A', '-o', 'pid=,ppid=,pgid=,stat=,args='], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.split('\n').flatMap((line) => {
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!match) return [];
    const [, pid, ppid, pgid, stat, args] = match;
    return [{ pid: Number(pid), ppid: Number(ppid), pgid: Number(pgid), stat: stat!, args: args! }];
  });
}

/** The processes below `rootPid` (children, grandchildren, ...), parents before children. */
export async function descendants(rootPid: number): Promise<ProcessInfo[]> {
  const all = await processList();
  const found: ProcessInfo[] = [];
  let frontier = [rootPid];
  while (frontier.length > 0) {
    const next = all.filter((p) => frontier.includes(p.ppid));
    found.push(...next);
    frontier = next.map((p) => p.pid);
  }
  return found;
}

/** The live processes of a process group (ended ones not yet reaped left out). */
export async function groupMembers(pgid: number): Promise<ProcessInfo[]> {
  return (await processList()).filter((p) => p.pgid === pgid && !p.stat.startsWith('Z'));
}

/** Whether a process with this pid is alive (an ended process not yet reaped is not). */
export async function isAlive(pid: number): Promise<boolean> {
  const found = (await processList()).find((p) => p.pid === pid);
  return found !== undefined && !found.stat.startsWith('Z');
}
