/**
 * Runs one documentation snippet in a process of its own (scripts/check-doc-snippets.ts starts
 * it with tsx): the world (world.ts) is built, its objects become globals, the working directory
 * is a fresh temporary one, and then the snippet's module is imported — a TypeScript block — or
 * its text is run by bash — a shell block, whose `npx multipop` is this checkout's command.
 *
 *   run-snippet.ts <ts|sh> <file> <run dir> <cert dir> <names used> <stand-ins> <expected error codes>
 *
 * (the lists comma-separated).
 *
 * The snippet passes when it settles without an error, an unhandled rejection, a connection that
 * would have left the machine, or a `collectNow()` whose mailbox failed with a code the block
 * does not announce (`@doc-expect-errors`) — a doc whose collection quietly fails does not run
 * as written; the process then exits, whatever timers the snippet left (a started fetcher's
 * schedule, say).
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MultiPopFetcher } from 'multipop';
import { installDocNetwork, refusedConnections } from './network.js';
import { buildWorld, DOC_PASSWORD, prepareDirectory, standIn, startDocServer } from './world.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const [kind, file, runDir, certDir, usesList = '', standInList = '', errorList = ''] = process.argv.slice(2);
if (!kind || !file || !runDir || !certDir) throw new Error('usage: run-snippet.ts <ts|sh> <file> <run dir> <cert dir>');

const problems: string[] = [];
const failedCollections: Array<{ mailboxId: string; code: string; message: string }> = [];
process.on('unhandledRejection', (reason) => problems.push(`unhandled rejection: ${String(reason)}`));
process.on('uncaughtException', (error) => problems.push(`uncaught exception: ${String(error)}`));

const server = await startDocServer(certDir);
installDocNetwork(server.port);
await prepareDirectory(runDir);
process.chdir(runDir);

let code = 0;
try {
  if (kind === 'ts') await runModule();
  else code = await runShell();
} catch (error) {
  problems.push(error instanceof Error ? (error.stack ?? String(error)) : String(error));
}
// Late failures of what the snippet started (a rejection one tick later) count too.
await new Promise((done) => setTimeout(done, 20));
const expected = new Set(errorList.split(',').filter(Boolean));
const unexpected = failedCollections.filter((f) => !expected.has(f.code));
if (unexpected.length > 0) {
  const list = unexpected.map((f) => `${f.mailboxId}: ${f.code} (${f.message})`).join('; ');
  problems.push(`a collection failed: ${list} (announce an intended failure with @doc-expect-errors)`);
}
for (const code of expected) {
  if (!failedCollections.some((f) => f.code === code)) problems.push(`no collection failed with ${code}, as @doc-expect-errors says`);
}
if (refusedConnections.length > 0) {
  problems.push(`tried to reach ${refusedConnections.join(', ')}: not on this machine (mark the block @doc-no-run)`);
}
for (const problem of problems) process.stderr.write(`${problem}\n`);
process.exit(problems.length > 0 ? 1 : code);

async function runModule(): Promise<void> {
  // The fetcher class the snippet imports is this one (one module graph): every collectNow()
  // it makes is watched for failed mailboxes.
  const collectNow = MultiPopFetcher.prototype.collectNow;
  MultiPopFetcher.prototype.collectNow = async function (this: MultiPopFetcher, ...args) {
    const summaries = await collectNow.apply(this, args);
    for (const s of summaries)
      if (s.error) failedCollections.push({ mailboxId: s.mailboxId, code: s.error.code, message: s.error.message });
    return summaries;
  };
  const uses = new Set(usesList.split(',').filter(Boolean));
  const world = await buildWorld(server, uses);
  const global = globalThis as Record<string, unknown>;
  Object.assign(global, world.globals);
  for (const name of standInList.split(',').filter(Boolean)) if (!(name in world.globals)) global[name] = standIn(name);
  await import(pathToFileURL(file!).href);
}

async function runShell(): Promise<number> {
  // The config the README's `multipop` lines use: the key `keygen --out store.key` writes, a
  // Maildir queue, and one mailbox at a host the fake server plays (its certificate as caFile).
  await writeFile('ca.pem', await readFile(join(certDir!, 'cert.pem')));
  const config = {
    store: { path: './state/multipop.sqlite', keyFile: './store.key' },
    queue: { type: 'maildir', root: './mail' },
    caFile: './ca.pem',
    users: [
      {
        id: 'ann@example.com',
        entries: [{ id: 'ann-gmx', server: 'pop.gmx.net:995', username: 'ann', password: DOC_PASSWORD }],
      },
    ],
  };
  await writeFile('multipop.json', `${JSON.stringify(config, null, 2)}\n`);
  const tsx = join(root, 'node_modules/tsx/dist/loader.mjs');
  const preload = join(root, 'scripts/doc-snippets/cli-preload.ts');
  const main = join(root, 'src/cli/main.ts');
  const script = [
    'set -euo pipefail',
    // Only `npx multipop` runs; a block that installs or runs anything else must be marked.
    ...['npm', 'apt-get', 'sudo'].map((tool) => `${tool}() { echo "the doc check does not run ${tool}: mark the block @doc-no-run" >&2; return 127; }`),
    `npx() { if [ "$1" = multipop ]; then shift; node --import '${tsx}' --import '${preload}' '${main}' "$@"; else echo "the doc check runs only 'npx multipop', not npx $1" >&2; return 127; fi; }`,
    await readFile(file!, 'utf8'),
  ].join('\n');
  return new Promise((done, fail) => {
    const child = spawn('bash', ['-c', script], {
      stdio: 'inherit',
      env: { ...process.env, DOC_POP3_PORT: String(server.port), TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
    });
    child.on('error', fail);
    child.on('exit', (status) => done(status ?? 1));
  });
}
