/**
 * Runs the documentation's blocks (the parent side; run-snippet.ts is the child): each runnable
 * block in a process of its own, two at a time, with a deadline, in a fresh temporary directory,
 * against the world of world.ts. A block marked `<!-- @doc-no-run: reason -->` is counted with
 * its reason, never silently left out; a marker without a reason is a problem.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestCertificate } from 'multipop/testing';
import { DOC_POP3_HOSTS } from './network.js';
import { docEnvironment } from './world.js';

/** A block ready to run: a TypeScript module's text, or a shell script's. */
export interface RunnableBlock {
  file: string;
  line: number;
  kind: 'ts' | 'sh';
  text: string;
  /** `@doc-no-run` reason; `''` when the marker gave none. */
  noRun?: string;
  /** Names the block uses (the world builds some objects only when used). */
  uses: readonly string[];
  /** Names its `@doc-context` declares: stand-ins unless the world has them. */
  standIns: readonly string[];
  /** Error codes its collections are meant to end with (`@doc-expect-errors`). */
  expectErrors: readonly string[];
}

export interface RunProblem {
  file: string;
  line: number;
  message: string;
}

export interface RunReport {
  ran: number;
  notRun: Array<{ file: string; line: number; reason: string }>;
  problems: RunProblem[];
}

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const tsx = join(root, 'node_modules/tsx/dist/loader.mjs');
const child = join(root, 'scripts/doc-snippets/run-snippet.ts');

/** Runs `blocks`; `outDir` receives the modules and the run's certificate. */
export async function runBlocks(
  blocks: readonly RunnableBlock[],
  outDir: string,
  { concurrency = 2, timeoutMs = 90_000 } = {},
): Promise<RunReport> {
  const report: RunReport = { ran: 0, notRun: [], problems: [] };
  const runnable: RunnableBlock[] = [];
  for (const block of blocks) {
    if (block.noRun === undefined) runnable.push(block);
    else if (block.noRun === '')
      report.problems.push({ ...at(block), message: '@doc-no-run needs a reason: `<!-- @doc-no-run: why -->`' });
    else report.notRun.push({ ...at(block), reason: block.noRun });
  }
  if (runnable.length === 0) return report;

  const runDir = join(outDir, 'run');
  await mkdir(runDir, { recursive: true });
  // One certificate for the run: the fake server plays the docs' hosts with it, and every
  // process trusts it (NODE_EXTRA_CA_CERTS), as a host trusts its provider's real one.
  const cert = await createTestCertificate({
    altNames: [...DOC_POP3_HOSTS.map((host) => `DNS:${host}`), 'DNS:localhost', 'IP:127.0.0.1'],
  });
  await writeFile(join(runDir, 'cert.pem'), cert.certPem);
  await writeFile(join(runDir, 'key.pem'), cert.keyPem, { mode: 0o600 });
  const env = { ...process.env, ...docEnvironment(), NODE_EXTRA_CA_CERTS: join(runDir, 'cert.pem') };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < runnable.length) {
      const n = next++;
      const block = runnable[n]!;
      const path = join(runDir, `${block.file.replace(/[^A-Za-z0-9]+/g, '_')}_L${block.line}.${block.kind}`);
      await writeFile(path, block.text);
      const dir = await mkdtemp(join(tmpdir(), 'multipop-doc-'));
      try {
        const failure = await runOne(block, path, dir, runDir, env, timeoutMs);
        if (failure) report.problems.push({ ...at(block), message: failure });
        else report.ran++;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, runnable.length) }, worker));
  report.notRun.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return report;
}

const at = (block: RunnableBlock) => ({ file: block.file, line: block.line });

/** Runs one block; resolves with what went wrong, or undefined. */
function runOne(
  block: RunnableBlock,
  path: string,
  dir: string,
  certDir: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<string | undefined> {
  return new Promise((done) => {
    const lists = [block.uses, block.standIns, block.expectErrors].map((list) => list.join(','));
    const args = [block.kind, path, dir, certDir, ...lists];
    const proc = spawn(process.execPath, ['--import', tsx, child, ...args], { cwd: root, env });
    let output = '';
    proc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return done(undefined);
      const why = signal ? `did not finish within ${timeoutMs / 1000} s` : `failed (exit ${code})`;
      done(`running the block ${why}:\n${output.trim().split('\n').slice(-25).join('\n')}`);
    });
  });
}
