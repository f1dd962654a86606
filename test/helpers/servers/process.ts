/**
 * Starting, running and stopping the helper programs of the interop servers: every long-running
 * server is spawned as the leader of its own process group, so `stop()` can end it and all its
 * children (per-connection POP3 processes, Courier's authdaemond, …) by that one PID.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** A started server process group. */
export interface ServerProcess {
  pid: number;
  /** Resolves when the group leader has exited. */
  exited: Promise<void>;
  /** True once the group leader has exited. */
  hasExited(): boolean;
}

/** Groups not yet stopped; killed when the test process exits so no server outlives the run. */
const running = new Map<number, string | undefined>();
process.once('exit', () => {
  for (const [pid, dir] of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Spawns `command` detached (own process group), stdout and stderr appended to `logPath`.
 * A file rather than a pipe: the server's children inherit the descriptors, and a pipe would
 * keep the test process busy as long as they live.
 *
 * @example
 * ```ts
 * const server = spawnServer('/usr/sbin/cyrmaster', ['-C', conf], `${dir}/master.log`, dir);
 * ```
 */
export function spawnServer(
  command: string,
  args: readonly string[],
  logPath: string,
  cleanupDir?: string,
  env?: NodeJS.ProcessEnv,
): ServerProcess {
  const fd = openSync(logPath, 'a', 0o644);
  let done = false;
  try {
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      ...(env ? { env } : {}),
    });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    const pid = child.pid;
    running.set(pid, cleanupDir);
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        done = true;
        resolve();
      });
      child.once('error', () => {
        done = true;
        resolve();
      });
    });
    // The test process must not wait for the server to end.
    child.unref();
    return { pid, exited, hasExited: () => done };
  } finally {
    closeSync(fd);
  }
}

/**
 * Stops a process group: SIGTERM to all of it, then SIGKILL to what is left after `graceMs`.
 * The servers' state is thrown away with their temp directory, so there is nothing to flush.
 *
 * @example
 * ```ts
 * await stopServer(server);
 * ```
 */
export async function stopServer(server: ServerProcess, graceMs = 500): Promise<void> {
  signalGroup(server.pid, 'SIGTERM');
  const graceful = await Promise.race([server.exited.then(() => true), sleep(graceMs).then(() => false)]);
  // Children may outlive a leader that exited on TERM (a POP3 session in progress): end them too.
  signalGroup(server.pid, 'SIGKILL');
  if (!graceful) await Promise.race([server.exited, sleep(5_000)]);
  running.delete(server.pid);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

/** The outcome of a short helper command. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a short helper command (makeuserdb, reconstruct, …) to completion and returns its output;
 * rejects with the output when it exits non-zero, unless `allowFailure`.
 *
 * @example
 * ```ts
 * await runCommand('saslpasswd2', ['-p', '-c', '-f', sasldb, 'ann'], { input: 'secret' });
 * ```
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { input?: string; uid?: number; gid?: number; cwd?: string; allowFailure?: boolean } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
        timeout: 30_000,
        ...(options.uid === undefined ? {} : { uid: options.uid }),
        ...(options.gid === undefined ? {} : { gid: options.gid }),
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        if (code !== 0 && !options.allowFailure) {
          reject(
            new Error(`${command} ${args.join(' ')} failed (${code}): ${stderr.trim() || stdout.trim()}`),
          );
          return;
        }
        resolve({ code, stdout, stderr });
      },
    );
    // A program that never reads its input (chown) may exit before we write: not an error.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
}

/** Numeric identity of a system account. */
export interface Account {
  uid: number;
  gid: number;
}

/**
 * Looks up a system account in `/etc/passwd` (the packages create `cyrus` and `courier`).
 *
 * @example
 * ```ts
 * const cyrus = systemAccount('cyrus'); // { uid: 107, gid: 8 }
 * ```
 */
export function systemAccount(name: string): Account {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`));
  const fields = line?.split(':');
  if (!fields || fields.length < 4) throw new Error(`no system account "${name}"`);
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** The last lines of a log file, for error messages. */
export async function tailFile(path: string, lines = 30): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '(no log)');
  return text.split('\n').slice(-lines).join('\n');
}

/** Resolves after `ms` (awaited, so it may keep the process alive that long). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `start` again (up to `attempts` times) when it failed because a port picked as free was
 * taken by someone else before the server bound it.
 *
 * @example
 * ```ts
 * export const startCyrus = (options) => retryOnPortClash(() => startCyrusOnce(options));
 * ```
 */
export async function retryOnPortClash<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      const clash = /address already in use|EADDRINUSE|nothing listens/i.test(String((err as Error).message));
      if (!clash || attempt >= attempts) throw err;
    }
  }
}
