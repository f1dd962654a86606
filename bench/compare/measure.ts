/**
 * Runs one contender as a whole process under GNU time (`/usr/bin/time`, Debian package
 * `time`), which reports the CPU time and peak RSS of the process and every child it waited
 * for (fetchmail's MDA processes included). Wall time is taken here with a monotonic clock.
 * Each run is time-boxed: on expiry the whole process group is killed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Path of GNU time; the benchmark refuses to run without it. */
export const GNU_TIME = '/usr/bin/time';

/** What to run. */
export interface RunSpec {
  argv: string[];
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Where GNU time writes its figures (a file per run). */
  scratchDir: string;
  /** Run as this unprivileged user (when we are root), e.g. for fetchmail and getmail. */
  asUser?: { uid: number; gid: number };
}

/** The figures of one run. */
export interface Measurement {
  ok: boolean;
  exitCode: number | null;
  timedOut: boolean;
  wallMs: number;
  /** User + system CPU of the process tree, in ms (NaN when killed by the timeout). */
  cpuMs: number;
  /** Largest resident set of any one process in the tree, in KiB (NaN when killed). */
  peakRssKb: number;
  /** The last lines the contender wrote to stderr/stdout (for a failure note). */
  outputTail: string;
}

let sequence = 0;

/** Process groups of the runs in progress, so an interrupted benchmark can end them. */
const running = new Set<number>();

/**
 * Kills every contender run in progress (its whole process group). For SIGINT/SIGTERM.
 *
 * @example
 * ```ts
 * process.once('SIGINT', () => { killRunning(); process.exit(130); });
 * ```
 */
export function killRunning(): void {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

/**
 * Runs `spec` to completion or timeout and returns its figures.
 *
 * @example
 * ```ts
 * const m = await measure({ argv: ['node', 'raw-client.mjs'], env, timeoutMs: 60_000, scratchDir: '/tmp/b' });
 * ```
 */
export async function measure(spec: RunSpec): Promise<Measurement> {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} is missing: apt-get install -y time`);
  const figures = join(spec.scratchDir, `time-${process.pid}-${++sequence}.txt`);
  const privilege =
    spec.asUser && process.getuid?.() === 0
      ? ['setpriv', `--reuid=${spec.asUser.uid}`, `--regid=${spec.asUser.gid}`, '--clear-groups']
      : [];
  const argv = [GNU_TIME, '-f', '%U %S %M', '-o', figures, ...privilege, ...spec.argv];
  const started = process.hrtime.bigint();
  const child = spawn(argv[0] as string, argv.slice(1), {
    env: spec.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a timeout kills the contender and everything it started.
    detached: true,
  });
  if (child.pid !== undefined) running.add(child.pid);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  }, spec.timeoutMs);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  clearTimeout(timer);
  if (child.pid !== undefined) running.delete(child.pid);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  let cpuMs = Number.NaN;
  let peakRssKb = Number.NaN;
  const text = await readFile(figures, 'utf8').catch(() => '');
  await rm(figures, { force: true });
  // GNU time prepends "Command exited with non-zero status N" when the command fails.
  const last = text.trim().split('\n').pop() ?? '';
  const match = /^([\d.]+) ([\d.]+) (\d+)$/.exec(last);
  if (match) {
    cpuMs = (Number(match[1]) + Number(match[2])) * 1000;
    peakRssKb = Number(match[3]);
  }
  return {
    ok: exitCode === 0 && !timedOut,
    exitCode,
    timedOut,
    wallMs,
    cpuMs,
    peakRssKb,
    outputTail: output.trim().split('\n').slice(-3).join(' | ').slice(0, 300),
  };
}
