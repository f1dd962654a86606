/**
 * Shared plumbing for the test harnesses that run real servers (Dovecot, PostgreSQL, Redis): a
 * process-wide registry that kills every server still running when the
 * test process exits or is interrupted, and a `describe()` that skips loudly on a developer's
 * machine without the server but fails under `CI=true`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { describe, it } from 'vitest';

/** A server to kill at exit (at once, no grace) and the directory to delete with it. */
export interface TrackedServer {
  kill(): void;
  dir?: string;
}

const REGISTRY = Symbol.for('multipop.test.running-servers');

/** Servers not yet stopped. On `globalThis` so several test files in one worker share one exit hook. */
export const runningServers: Set<TrackedServer> = processWideRegistry();

function processWideRegistry(): Set<TrackedServer> {
  const slots = globalThis as Record<symbol, Set<TrackedServer> | undefined>;
  const existing = slots[REGISTRY];
  if (existing) return existing;
  const set = new Set<TrackedServer>();
  slots[REGISTRY] = set;
  const killAll = () => {
    for (const { kill, dir } of set) {
      kill();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
    set.clear();
  };
  process.once('exit', killAll);
  // Interrupted (Ctrl-C, a timeout's SIGTERM): clean up, then let the signal do its work
  // unless someone else handles it.
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(name, () => {
      killAll();
      if (process.listenerCount(name) === 0) process.kill(process.pid, name);
    });
  }
  return set;
}

/**
 * Spawns a server in the foreground (no daemonizing: its pid is the child's), its output kept
 * in memory for error messages. `exited` settles when it ends.
 */
export function spawnServer(
  command: string,
  args: string[],
  options: { dir?: string; env?: NodeJS.ProcessEnv } = {},
): { child: ChildProcess; tracked: TrackedServer; output: () => string; exited: Promise<void> } {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env ? { env: options.env } : {}),
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const tracked: TrackedServer = {
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    ...(options.dir ? { dir: options.dir } : {}),
  };
  runningServers.add(tracked);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      output += `\n${err.message}`;
      resolve();
    });
  });
  return { child, tracked, output: () => output, exited };
}

/** Sends `signal`, waits up to `graceMs` for the exit, then SIGKILL. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * `describe()` for suites that need a real server: without it, a loud skip on a developer's
 * machine and a failing test under `CI=true`, so CI never passes by silently skipping.
 */
export function describeWithServer(
  name: string,
  server: { installed: boolean; missing: string },
  fn: () => void,
): void {
  if (server.installed) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it(`needs a real server: ${server.missing}`, () => {
        throw new Error(`${server.missing} — CI must run the real-server tests.`);
      });
    });
  } else {
    console.warn(`\n⚠️  SKIPPING "${name}": ${server.missing}\n`);
    describe.skip(name, fn);
  }
}
