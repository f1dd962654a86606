import { type ChildProcess, spawn } from 'node:child_process';
import { runningServers, type TrackedServer } from '../helpers/server-process.js';
import { projectRoot } from './collector-command.js';

/** A CLI process of a fleet test: its output lines, and a promise of its exit. */
export interface FleetProcess {
  child: ChildProcess;
  /** Resolves with the first stdout line matching `pattern` (also one printed already). */
  line(pattern: RegExp): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

/** Starts `node <bundle> …args` (the CLI bundled by bundleExample); killed at exit if still running. */
export function startFleetProcess(bundle: string, args: string[]): FleetProcess {
  const child = spawn(process.execPath, [bundle, ...args], {
    cwd: projectRoot,
    env: { ...process.env, CI: process.env['CI'] ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tracked: TrackedServer = { kill: () => child.kill('SIGKILL') };
  runningServers.add(tracked);
  let out = '';
  let err = '';
  const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of [...waiters]) {
      const m = out.match(w.pattern);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    // Bounded: a worker that logs a warning per failed session must not fill the test's memory.
    err = (err + d).slice(-200_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      runningServers.delete(tracked);
      for (const w of waiters.splice(0)) w.resolve(null as unknown as RegExpMatchArray);
      resolve({ code, signal });
    });
  });
  return {
    child,
    exited,
    stdout: () => out,
    stderr: () => err,
    line: (pattern) =>
      new Promise((resolve, reject) => {
        const m = out.match(pattern);
        if (m) return resolve(m);
        waiters.push({
          pattern,
          resolve: (found) =>
            found ? resolve(found) : reject(new Error(`process exited before printing ${pattern}\n${err}`)),
        });
      }),
  };
}
