/**
 * The `multipop` command tree and its runner (the bin entry is `main.ts`). Exit codes: `exit-codes.ts`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { isMultiPopError } from '../errors/index.js';
import { ExitCode } from './exit-codes.js';

// Each command's module is loaded when that command runs: `collect` never loads the demo's
// embedded POP3 server or the grant flow's HTTP listener (a lean start, see docs/performance.md).
const commands = {
  checkConfig: () => import('./commands/check-config.js'),
  collect: () => import('./commands/collect.js'),
  demo: () => import('./commands/demo.js'),
  grant: () => import('./commands/grant.js'),
  keygen: () => import('./commands/keygen.js'),
  resolveIdentity: () => import('./commands/resolve-identity.js'),
  scheduler: () => import('./commands/scheduler.js'),
  status: () => import('./commands/status.js'),
  worker: () => import('./commands/worker.js'),
};

/** Resolves at the first SIGINT or SIGTERM (a long-running command then stops gracefully). */
function stopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

/** Builds the command tree; `run` receives each action's exit code. */
export function buildProgram(run: (code: Promise<number> | number) => void): Command {
  const out = process.stdout;
  const program = new Command('multipop')
    .description(
      'Collect mail from external POP3 mailboxes into your mail server — exactly once, byte for byte.',
    )
    .version(packageVersion(), '-V, --version', 'print the version of multipop')
    .exitOverride()
    .showHelpAfterError();

  program
    .command('keygen')
    .description(
      'make a new store key (for store.keyFile or MULTIPOP_KEY): printed, or written to --out (0600)',
    )
    .option('--out <file>', 'write the key to this new file instead of printing it')
    .action((o: { out?: string }) =>
      run(commands.keygen().then((m) => m.keygenCommand({ ...(o.out ? { out: o.out } : {}), stdout: out }))),
    );

  program
    .command('demo')
    .description('collect a demo mailbox from an embedded POP3 server into ./demo-maildir')
    .option('--dir <path>', 'target Maildir', 'demo-maildir')
    .option('--messages <n>', 'number of small sample messages', positiveNumber, 40)
    .option('--large-mb <n>', 'size of the large sample message in MB', positiveNumber, 8)
    .action((o: { dir: string; messages: number; largeMb: number }) =>
      run(
        commands
          .demo()
          .then(({ demoCommand }) =>
            demoCommand({ dir: o.dir, messages: o.messages, largeMb: o.largeMb, out }),
          ),
      ),
    );

  program
    .command('collect')
    .description('collect every enabled mailbox once (or on the schedule with --watch)')
    .requiredOption('-c, --config <file>', 'configuration file (multipop.json)')
    .option('--watch', 'keep running and collect on the schedule in the settings', false)
    .option('--json', 'print the result as JSON', false)
    .option(
      '--force-sync',
      'let the config file remove users and entries (and replace settings) that the CLI did not put into the store',
      false,
    )
    .action((o: { config: string; watch: boolean; json: boolean; forceSync: boolean }) => {
      const stop = stopSignal();
      run(commands.collect().then(({ collectCommand }) => collectCommand({ ...o, out, stopSignal: stop })));
    });

  program
    .command('worker')
    .description('run a worker of a fleet: collection jobs from BullMQ, state in PostgreSQL (until SIGTERM)')
    .requiredOption('-c, --config <file>', 'configuration file with store (postgres) and jobs (bullmq)')
    .action((o: { config: string }) => {
      const stop = stopSignal();
      run(commands.worker().then(({ workerCommand }) => workerCommand({ ...o, out, stopSignal: stop })));
    });

  program
    .command('scheduler')
    .description("run a fleet's scheduler: the schedule and the directory as BullMQ jobs (until SIGTERM)")
    .requiredOption('-c, --config <file>', 'configuration file with store (postgres) and jobs (bullmq)')
    .option('--now', 'enqueue every enabled mailbox at start', false)
    .option('--force-sync', 'let the config file replace directory data the CLI did not write', false)
    .action((o: { config: string; now: boolean; forceSync: boolean }) => {
      const stop = stopSignal();
      run(
        commands
          .scheduler()
          .then(({ schedulerCommand }) => schedulerCommand({ ...o, out, stopSignal: stop })),
      );
    });

  program
    .command('status')
    .description('show per-mailbox last run, errors and totals (safe while a collector runs)')
    .requiredOption('-c, --config <file>', 'configuration file')
    .option('--json', 'print as JSON', false)
    .action((o: { config: string; json: boolean }) =>
      run(commands.status().then(({ statusCommand }) => statusCommand({ ...o, out }))),
    );

  program
    .command('grant')
    .description('grant OAuth permission for a mailbox entry (prints the authorization URL)')
    .argument('<user>', 'local user id')
    .argument('<entry>', 'mailbox entry id')
    .requiredOption('-c, --config <file>', 'configuration file')
    .option('--domain <domain>', 'sign-in domain whose redirect URI to use', 'localhost')
    .option('--timeout <seconds>', 'how long to wait for the redirect', positiveNumber, 600)
    .action((userId: string, mailboxId: string, o: { config: string; domain: string; timeout: number }) =>
      run(
        commands.grant().then(({ grantCommand }) =>
          grantCommand({
            config: o.config,
            userId,
            mailboxId,
            domain: o.domain,
            timeoutSeconds: o.timeout,
            out,
            input: process.stdin,
          }),
        ),
      ),
    );

  program
    .command('resolve-identity')
    .description('resolve a mailbox paused with IDENTITY_UNCERTAIN (its server changed most UIDLs)')
    .argument('<entry>', 'mailbox entry id')
    .requiredOption('-c, --config <file>', 'configuration file')
    .option('--rekey-matching', 're-key messages confirmed by size and header; collect the rest as new')
    .option('--collect-as-new', 'collect every message under an unknown UIDL as new (may deliver some twice)')
    .action((mailboxId: string, o: { config: string; rekeyMatching?: boolean; collectAsNew?: boolean }) => {
      if (o.rekeyMatching === o.collectAsNew) {
        process.stderr.write('multipop: give exactly one of --rekey-matching and --collect-as-new\n');
        run(ExitCode.USAGE);
        return;
      }
      const resolution = o.rekeyMatching ? 'rekey-matching' : 'collect-as-new';
      run(
        commands
          .resolveIdentity()
          .then(({ resolveIdentityCommand }) =>
            resolveIdentityCommand({ config: o.config, mailboxId, resolution, out }),
          ),
      );
    });

  program
    .command('check-config')
    .description('validate a configuration file; errors name the field')
    .requiredOption('-c, --config <file>', 'configuration file')
    .action((o: { config: string }) =>
      run(commands.checkConfig().then(({ checkConfigCommand }) => checkConfigCommand({ ...o, out }))),
    );

  return program;
}

/** Runs the CLI with `argv` and resolves with the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let pending: Promise<number> | number = ExitCode.OK;
  const program = buildProgram((code) => {
    pending = code;
  });
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return await pending;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    const code = isMultiPopError(err) ? err.code : 'INTERNAL';
    process.stderr.write(`multipop: ${code}: ${err instanceof Error ? err.message : String(err)}\n`);
    if (isMultiPopError(err, 'CONFIG_INVALID')) return ExitCode.CONFIG_INVALID;
    return isMultiPopError(err) ? ExitCode.MAILBOX_FAILED : ExitCode.INTERNAL;
  }
}

/**
 * The package's version, from the nearest `package.json` named `multipop` above this module:
 * two levels up from src/cli/ and dist/cli/, but a host may bundle the CLI anywhere (the
 * benchmark does), so the search walks up instead of assuming the layout. A bundle with no
 * manifest above it reports `unknown` rather than failing every command.
 */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'multipop' && manifest.version) return manifest.version;
    } catch {
      // No (readable) package.json here: keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}
