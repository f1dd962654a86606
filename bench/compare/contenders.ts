/**
 * The contenders and how each one is started. Every contender is a whole process configured
 * by the same environment variables (peers/env.ts describes them).
 *
 * multipop's collector command is configured in ONE place, {@link resolveMultipopCommand}:
 *   1. `MULTIPOP_COLLECT_CMD` (split on spaces), e.g. `node dist-examples/collect-to-maildir.js`;
 *   2. else the built example `dist-examples/collect-to-maildir.js` (`npm run build:examples`),
 *      or `dist/examples/collect-to-maildir.js`;
 *   3. else `examples/collect-to-maildir.ts` bundled here with esbuild (source, compiled);
 *   4. else multipop is left out of the run, with a note.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { benchDir, bundle, rootDir } from './build.js';

/** Names used in results and on the command line (`--contenders`). */
export type ContenderId =
  | 'multipop'
  | 'multipop-cli'
  | 'multipop-seq'
  | 'multipop-par'
  | 'raw'
  | 'raw-durable'
  | 'fetchmail-mda'
  | 'fetchmail-sink'
  | 'getmail6'
  | 'node-pop3';

/** One way of collecting mail, ready to run. */
export interface Contender {
  id: ContenderId;
  /** Shown in the tables. */
  label: string;
  argv: string[];
  /** Extra environment for this contender only. */
  env: Record<string, string>;
  /** False for fetchmail's sink: nothing is stored, so there is nothing to check. */
  delivers: boolean;
  /** Takes POP_ACCOUNTS itself; otherwise only single-mailbox runs. */
  multiAccount: boolean;
  /** Needs an unprivileged user (fetchmail, getmail and dovecot-lda refuse root). */
  unprivileged: boolean;
  /** Slow enough that fewer repetitions are run. */
  slow: boolean;
  /** For S3: prime its state with this contender instead (same state format, faster). */
  primeWith?: ContenderId;
  /**
   * For S3, when a full first run over the backlog would not fit in the time box: write the
   * state that run would leave, from the server's UIDL list.
   */
  writeState?(state: PrimedState): Promise<void>;
}

/** What {@link Contender.writeState} needs to know. */
export interface PrimedState {
  stateDir: string;
  host: string;
  port: number;
  user: string;
  uidls: readonly string[];
}

/** A contender that cannot run here, and why. */
export interface Missing {
  id: ContenderId;
  reason: string;
}

/** How many single-mailbox collector processes `multipop-par` runs at once. */
export const MULTIPOP_PARALLEL = 8;

/**
 * Finds multipop's collector command (see the module comment for the order).
 *
 * @example
 * ```ts
 * const command = await resolveMultipopCommand();
 * if (command) console.log(command.argv.join(' '), command.source);
 * ```
 */
export async function resolveMultipopCommand(): Promise<{ argv: string[]; source: string } | undefined> {
  const fromEnv = process.env['MULTIPOP_COLLECT_CMD'];
  if (fromEnv) return { argv: fromEnv.split(' ').filter(Boolean), source: `MULTIPOP_COLLECT_CMD=${fromEnv}` };
  for (const built of ['dist-examples/collect-to-maildir.js', 'dist/examples/collect-to-maildir.js']) {
    if (existsSync(join(rootDir, built)))
      return { argv: [process.execPath, join(rootDir, built)], source: built };
  }
  const source = 'examples/collect-to-maildir.ts';
  if (!existsSync(join(rootDir, source))) return undefined;
  const outfile = await bundle(source, 'collect-to-maildir');
  return { argv: [process.execPath, outfile], source: `${source} (bundled by bench/compare/build.ts)` };
}

/**
 * Builds every contender that can run on this machine; the others come back as `missing`.
 *
 * @example
 * ```ts
 * const { contenders, missing } = await resolveContenders();
 * ```
 */
export async function resolveContenders(): Promise<{
  contenders: Contender[];
  missing: Missing[];
  multipopSource: string | undefined;
}> {
  const contenders: Contender[] = [];
  const missing: Missing[] = [];
  const peers = join(benchDir, 'peers');
  const base = { env: {}, delivers: true, unprivileged: false, slow: false, multiAccount: true };

  const multipop = await resolveMultipopCommand().catch((err: Error) => {
    missing.push({ id: 'multipop', reason: `could not build the collector: ${err.message.split('\n')[0]}` });
    return undefined;
  });
  if (multipop) {
    contenders.push({ ...base, id: 'multipop', label: 'multipop', argv: multipop.argv, multiAccount: false });
    const each = join(peers, 'each-account.sh');
    contenders.push({
      ...base,
      id: 'multipop-seq',
      label: 'multipop, one process per mailbox in turn',
      argv: [each, ...multipop.argv],
      env: { PARALLEL: '1' },
    });
    contenders.push({
      ...base,
      id: 'multipop-par',
      label: `multipop, one process per mailbox, ${MULTIPOP_PARALLEL} at a time`,
      argv: [each, ...multipop.argv],
      env: { PARALLEL: String(MULTIPOP_PARALLEL) },
    });
  } else if (!missing.some((m) => m.id === 'multipop')) {
    missing.push({ id: 'multipop', reason: 'examples/collect-to-maildir.ts does not exist yet' });
  }

  // multipop as administrators run it: `multipop collect --config`, every account in one process.
  // BENCH_CPU_PROF_DIR=<dir>: a V8 CPU profile of every run of it lands there (`node --cpu-prof`).
  const cli = await bundle('bench/compare/peers/multipop-cli.ts', 'multipop-cli');
  const profDir = process.env['BENCH_CPU_PROF_DIR'];
  contenders.push({
    ...base,
    id: 'multipop-cli',
    label: 'multipop collect --config (one process)',
    argv: [process.execPath, ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), cli],
  });

  const raw = await bundle('bench/compare/raw-client.ts', 'raw-client');
  contenders.push({
    ...base,
    id: 'raw-durable',
    label: 'durable raw client (the limit)',
    argv: [process.execPath, raw],
    env: { RAW_DURABLE: '1' },
  });
  contenders.push({
    ...base,
    id: 'raw',
    label: 'raw pipelined client, no fsync',
    argv: [process.execPath, raw],
  });

  const lda = '/usr/lib/dovecot/dovecot-lda';
  if (!onPath('fetchmail')) {
    missing.push({
      id: 'fetchmail-mda',
      reason: 'fetchmail is not installed (apt-get install -y fetchmail)',
    });
  } else {
    const fetchmail = {
      ...base,
      argv: [join(peers, 'fetchmail.sh')],
      unprivileged: true,
    };
    if (existsSync(lda)) {
      contenders.push({
        ...fetchmail,
        id: 'fetchmail-mda',
        label: 'fetchmail → dovecot-lda',
        env: { FETCHMAIL_MDA: 'lda' },
        slow: true,
        primeWith: 'fetchmail-sink',
      });
    } else {
      missing.push({ id: 'fetchmail-mda', reason: `${lda} is missing (Debian package dovecot-core)` });
    }
    contenders.push({
      ...fetchmail,
      id: 'fetchmail-sink',
      label: 'fetchmail → sink (best case)',
      env: { FETCHMAIL_MDA: 'sink' },
      delivers: false,
    });
  }

  if (onPath('getmail')) {
    contenders.push({
      ...base,
      id: 'getmail6',
      label: 'getmail6 → Maildir',
      argv: [join(peers, 'getmail.sh')],
      unprivileged: true,
      slow: true,
      // getmail's POP "oldmail" file: one `uidl NUL timestamp` line per message collected.
      async writeState({ stateDir, host, port, user, uidls }) {
        const now = Math.floor(Date.now() / 1000);
        const name = `oldmail-${host}-${port}-${user}`.replace(/[/:;<>|]+/g, '-');
        await writeFile(join(stateDir, name), uidls.map((uid) => `${uid}\0${now}\n`).join(''), {
          mode: 0o644,
        });
      },
    });
  } else {
    missing.push({ id: 'getmail6', reason: 'getmail6 is not installed (apt-get install -y getmail6)' });
  }

  const nodePop3 = await bundle('bench/compare/peers/node-pop3.ts', 'node-pop3-peer');
  contenders.push({
    ...base,
    id: 'node-pop3',
    label: 'node-pop3 script',
    argv: [process.execPath, nodePop3],
    // peers/node-pop3.ts keeps the UIDLs it has seen, one per line.
    async writeState({ stateDir, uidls }) {
      await writeFile(join(stateDir, 'node-pop3.uidl'), `${uidls.join('\n')}\n`);
    },
  });

  return { contenders, missing, multipopSource: multipop?.source };
}

function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '/usr/bin:/bin')
    .split(':')
    .some((dir) => dir !== '' && existsSync(join(dir, command)));
}
