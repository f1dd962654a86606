import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const command = join(projectRoot, 'examples/collect-to-maildir.ts');

export interface CollectorRun {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed) and the stderr text. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/**
 * Starts the single-mailbox collector command with `env`: from source through tsx, or — when
 * `bundle` (from `bundleExample`) is given — as plain JavaScript, which starts several times faster.
 * A bundle of another command (the CLI) runs the same way, with `commandArgs` after it.
 */
export function startCollector(
  env: Record<string, string>,
  bundle?: string,
  commandArgs: string[] = [],
): CollectorRun {
  const args = [...(bundle ? [bundle] : ['--import', 'tsx', command]), ...commandArgs];
  const child = spawn(process.execPath, args, {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => {
      child.once('close', (code, signal) => resolve({ code, signal, stderr }));
    },
  );
  return { child, done };
}

/** Every file in a Maildir's new/ and cur/. */
export async function readMaildir(root: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const sub of ['new', 'cur']) {
    let names: string[] = [];
    try {
      names = await readdir(join(root, sub));
    } catch {
      continue;
    }
    for (const name of names.sort()) out.push(await readFile(join(root, sub, name)));
  }
  return out;
}
