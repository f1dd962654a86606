import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from './collector-command.js';

/** What a CLI run printed and how it ended. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A CLI process still running (e.g. `collect --watch`). */
export interface RunningCli {
  child: ChildProcess;
  /** Resolves with the first match of `pattern` in stdout (now or later); rejects if the process ends first. */
  waitForOutput(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Resolves when the process has ended. */
  done: Promise<CliResult>;
}

/** Starts the CLI from source as a user would (`npx tsx src/cli/main.ts …`). */
export function startCli(args: string[], env: Record<string, string> = {}): RunningCli {
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), ...args], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    for (const check of waiters) check();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<CliResult>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, stderr })),
  );
  return {
    child,
    done,
    waitForOutput(pattern) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stdout);
          if (!match) return;
          waiters.delete(check);
          resolve(match);
        };
        waiters.add(check);
        check();
        void done.then((result) => {
          if (!waiters.has(check)) return;
          waiters.delete(check);
          reject(
            new Error(
              `the CLI ended (exit ${result.code}) before printing ${pattern}:\n${stdout}\n${stderr}`,
            ),
          );
        });
      });
    },
  };
}

/** Runs the CLI from source as a user would (`npx tsx src/cli/main.ts …`) to its end. */
export function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return startCli(args, env).done;
}
