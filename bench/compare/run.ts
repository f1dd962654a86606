/**
 * `npm run bench` (when package.json points at this file): multipop side by side with
 * fetchmail, getmail6, node-pop3 and a raw pipelined client, all collecting from one private
 * Dovecot over implicit TLS on loopback into Maildirs, in five scenarios (issue #7 §1–§2).
 * Prints markdown tables (medians of several runs, rates, ratio to multipop, correctness,
 * targets) on stdout and progress on stderr.
 *
 *   npx tsx bench/compare/run.ts                      all scenarios (≈ 10 minutes on 2 cores)
 *   npx tsx bench/compare/run.ts --quick              everything shrunk: a smoke run (< 1 minute)
 *   npx tsx bench/compare/run.ts --scenarios S1,S3 --contenders multipop,raw,fetchmail-sink
 *   npx tsx bench/compare/run.ts --out results.md --json results.json
 *   npx tsx bench/compare/run.ts --from-json results.json      the report of a saved run again
 *
 * multipop's collector command is configured in contenders.ts (MULTIPOP_COLLECT_CMD overrides).
 * Needs: Dovecot (dovecot-core, dovecot-pop3d), GNU time (`time`), and for the peers
 * `fetchmail` and `getmail6` (Debian packages); a missing peer is left out with a note.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ContenderId, resolveContenders } from './contenders.js';
import { startBenchServer } from './dovecot.js';
import { GNU_TIME, killRunning } from './measure.js';
import { scenarioMarkdown } from './report.js';
import { type RunnerContext, runScenario, type ScenarioResult, scenarioUsers } from './runner.js';
import { scenarios } from './scenarios.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenarios: { type: 'string' },
    contenders: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'string' },
    'from-json': { type: 'string' },
  },
});

const log = (line: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function main(): Promise<void> {
  if (args['from-json']) return rerender(args['from-json']);
  const started = Date.now();
  // Other work on the machine skews every figure: the report states the load around the run.
  const loadBefore = loadavg()[0] ?? 0;
  // Fails loudly (ENOENT) when the Debian package `time` is missing.
  execFileSync(GNU_TIME, ['true'], { stdio: 'ignore' });
  const wantedScenarios = args.scenarios?.split(',').map((s) => s.trim().toUpperCase());
  const selected = scenarios(args.quick ?? false).filter(
    (s) => !wantedScenarios || wantedScenarios.includes(s.id),
  );
  const onlyContenders = args.contenders?.split(',').map((s) => s.trim()) as ContenderId[] | undefined;

  log('building contenders');
  const { contenders, missing, multipopSource } = await resolveContenders();
  const byId = new Map(
    contenders.filter((c) => !onlyContenders || onlyContenders.includes(c.id)).map((c) => [c.id, c]),
  );
  for (const m of missing) log(`left out: ${m.id} — ${m.reason}`);

  const users = [...new Set(selected.flatMap(scenarioUsers))];
  log(`starting Dovecot with ${users.length} mailboxes`);
  const server = await startBenchServer(users);
  const workDir = await mkdtemp(join(tmpdir(), 'multipop-bench-'));
  // fetchmail and getmail run unprivileged and must reach their directories below it.
  await chmod(workDir, 0o755);
  const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
  const ctx: RunnerContext = {
    server,
    contenders: byId,
    workDir,
    unprivileged: { uid: id('-u'), gid: id('-g') },
    log,
  };
  const results: ScenarioResult[] = [];
  // Interrupted: end the contender in flight, stop Dovecot, remove the scratch directory.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      killRunning();
      void server
        .stop()
        .then(() => rm(workDir, { recursive: true, force: true }))
        .finally(() => process.exit(130));
    });
  }
  try {
    for (const scenario of selected) {
      let growthBase: ScenarioResult | undefined;
      if (scenario.growthFrom) {
        log(`${scenario.id}: ${scenario.title} (${scenario.growthFrom} mailboxes first)`);
        const { growthFrom: _, ...smaller } = { ...scenario, mailboxes: scenario.growthFrom };
        growthBase = { ...(await runScenario(smaller, ctx)), growthStep: true };
        results.push(growthBase);
      }
      log(`${scenario.id}: ${scenario.title}`);
      const result = await runScenario(scenario, ctx);
      results.push(growthBase ? { ...result, growthBase } : result);
    }
  } finally {
    await server.stop();
    await rm(workDir, { recursive: true, force: true });
  }

  const markdown = [
    machineMarkdown(server.version, multipopSource, args.quick ?? false, Date.now() - started, loadBefore),
    ...missing.map((m) => `- left out: ${m.id} — ${m.reason}`),
    missing.length ? '' : undefined,
    ...results.map(scenarioMarkdown),
  ]
    .filter((line) => line !== undefined)
    .join('\n');
  process.stdout.write(`${markdown}\n`);
  if (args.out) await writeFile(args.out, `${markdown}\n`);
  if (args.json)
    await writeFile(
      args.json,
      `${JSON.stringify({ header: markdown.split('\n\n###')[0], results }, null, 2)}\n`,
    );
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** `--from-json FILE`: prints the markdown of a saved run again (after a change to the report). */
async function rerender(file: string): Promise<void> {
  const saved = JSON.parse(await readFile(file, 'utf8')) as { header?: string; results: ScenarioResult[] };
  const markdown = [`${saved.header ?? ''}\n`, ...saved.results.map(scenarioMarkdown)].join('\n');
  process.stdout.write(`${markdown}\n`);
  if (args.out) await writeFile(args.out, `${markdown}\n`);
}

function machineMarkdown(
  dovecot: string,
  multipop: string | undefined,
  quick: boolean,
  elapsedMs: number,
  loadBefore: number,
): string {
  const version = (command: string, args: string[], pattern: RegExp) => {
    try {
      const text = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return pattern.exec(text)?.[1] ?? '?';
    } catch (err) {
      const text = String((err as { stdout?: string }).stdout ?? '');
      return pattern.exec(text)?.[1] ?? 'not installed';
    }
  };
  return [
    `Machine: ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `Node ${process.version}, Dovecot ${dovecot} (implicit TLS on 127.0.0.1), ` +
      `fetchmail ${version('fetchmail', ['--version'], /release ([\d.]+)/)}, ` +
      `getmail ${version('getmail', ['--version'], /getmail ([\d.]+)/)}.`,
    `multipop: ${multipop ?? 'not available'}. ${quick ? '**Quick (smoke) run: shrunk scenarios, one run each.**' : ''}`,
    `Whole benchmark: ${(elapsedMs / 1000).toFixed(0)} s; load average (1 min) ${loadBefore.toFixed(1)} before, ` +
      `${(loadavg()[0] ?? 0).toFixed(1)} after. Each contender is a whole process (start-up included); ` +
      'wall time by a monotonic clock, CPU (user+sys, children included) and peak RSS by GNU time.',
    '',
  ].join('\n');
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
