/**
 * A real Dovecot POP3 server per test: own temp directory, own free ports on 127.0.0.1, a
 * self-signed certificate, passwd-file users with plain-text passwords, Maildirs that tests
 * seed and inspect. Optional: APOP, the OAuth 2.0 passdb (XOAUTH2 / OAUTHBEARER checked
 * against an introspection endpoint), an LMTP listener delivering into the same Maildirs, and
 * a Pigeonhole `sieve_before` script run on those deliveries.
 *
 * Suites that need it are written with {@link describeWithDovecot}, so a machine without
 * Dovecot skips them loudly, and CI (`CI=true`) fails instead of passing without them.
 *
 * @example
 * ```ts
 * describeWithDovecot('collecting from Dovecot', () => {
 *   let server: DovecotServer;
 *   beforeAll(async () => { server = await startDovecot({ users: [{ name: 'ann', password: 'pw' }] }); });
 *   afterAll(() => server?.stop());
 *   it('…', async () => { await server.seed('ann', [Buffer.from('Subject: x\r\n\r\nhi\r\n')]); });
 * });
 * ```
 */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import {
  dovecotPaths,
  renderDovecotConfig,
  renderOAuth2Config,
  renderPasswdFile,
  renderSieveBeforeConfig,
} from './dovecot-config.js';
import { freePorts, waitForPort } from './free-port.js';
import { deliverToMaildir, type FileOwner, makeMaildir, readMaildir } from './maildir.js';
import { localhostCertificate } from './self-signed-cert.js';
import { runningServers, type TrackedServer } from './server-process.js';

/** A mailbox account on the test server. */
export interface DovecotUser {
  name: string;
  password: string;
}

/** What the test server offers. */
export interface DovecotOptions {
  users: DovecotUser[];
  /** Add `apop` to `auth_mechanisms`: the greeting then carries a `<timestamp@host>`. */
  apop?: boolean;
  /**
   * Accept OAuth 2.0 access tokens (`AUTH XOAUTH2` / `AUTH OAUTHBEARER`), each checked by POSTing
   * it to `introspectionUrl` (RFC 7662). The claim `usernameAttribute` (default `sub`) must name
   * the POP3 user. `clientId`/`clientSecret` authenticate Dovecot at the introspection endpoint.
   * Password users keep working.
   */
  oauth2?: { introspectionUrl: string; usernameAttribute?: string; clientId?: string; clientSecret?: string };
  /** Also listen for LMTP on a free port, delivering into the same Maildirs. */
  lmtp?: boolean;
  /**
   * Run Pigeonhole Sieve on LMTP deliveries (implies `lmtp`) with `script` as the `sieve_before`
   * script of every user. `config` renders the dovecot.conf lines for the script's path (default:
   * {@link renderSieveBeforeConfig}) — a test of a shipped recipe passes the recipe's own lines.
   */
  sieveBefore?: { script: string; config?: (scriptPath: string) => string };
  /**
   * Dovecot always advertises PIPELINING and cannot be told otherwise; `false` is refused with
   * an error (use the in-process fake server for a server without it).
   */
  pipelining?: boolean;
  /** More dovecot.conf lines, appended at the end (e.g. `pop3_lock_session = yes`). */
  extraConfig?: string;
}

/** A running test server. */
export interface DovecotServer {
  host: '127.0.0.1';
  /** Plain POP3 that offers STLS. */
  popPort: number;
  /** POP3 over implicit TLS. */
  popsPort: number;
  /** LMTP, when started with `lmtp: true` (or `sieveBefore`). */
  lmtpPort?: number;
  /** The self-signed certificate (PEM) to trust via `tlsOptions.ca`; valid for `localhost` and `127.0.0.1`. */
  caPem: string;
  /** The per-server temp directory (deleted by `stop()`). */
  dir: string;
  /** The generated dovecot.conf. */
  configPath: string;
  /** Absolute path of a user's Maildir. */
  maildir(user: string): string;
  /**
   * Puts messages into the user's `Maildir/new`, in order (message 1 is `messages[0]`).
   * For CRLF input, `RETR n` returns exactly these bytes — 8-bit bytes and lines that start
   * with "." included. A message should end with CRLF: POP3 cannot transmit a last line
   * without one, so the server adds it.
   */
  seed(user: string, messages: Buffer[]): Promise<void>;
  /** The raw files in the user's Maildir now (`new/` and `cur/`), oldest first. */
  messages(user: string): Promise<Buffer[]>;
  /** Dovecot's log so far (logins, errors, auth failures). */
  logText(): Promise<string>;
  /** Stops Dovecot (SIGTERM to the master, waits for it to exit) and deletes `dir`. Idempotent. */
  stop(): Promise<void>;
}

/** Absolute path of the `dovecot` binary, or `undefined` when it is not installed. */
export const dovecotBinary: string | undefined = findDovecot();

/** True when a `dovecot` binary was found on `PATH` or in `/usr/sbin`. */
export const dovecotInstalled: boolean = dovecotBinary !== undefined;

const MISSING =
  'Dovecot is not installed (no `dovecot` on PATH or in /usr/sbin). Install it with: ' +
  'apt-get install -y dovecot-core dovecot-pop3d dovecot-lmtpd';

/**
 * `describe()` for suites that need a real Dovecot. Without Dovecot: a loud skip on a
 * developer's machine, and a failing test under `CI=true`, so CI never goes green by silently
 * skipping the real-server tests.
 *
 * @example
 * ```ts
 * describeWithDovecot('POP3 client against Dovecot', () => { it('logs in', async () => { … }); });
 * ```
 */
export function describeWithDovecot(name: string, fn: () => void): void {
  if (dovecotInstalled) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs Dovecot', () => {
        throw new Error(`${MISSING} — CI must run the real-server tests.`);
      });
    });
  } else {
    console.warn(`\n⚠️  SKIPPING "${name}": ${MISSING}\n`);
    describe.skip(name, fn);
  }
}

/**
 * For a single test (or a hook) that needs Dovecot outside {@link describeWithDovecot}:
 * returns when installed; otherwise throws under `CI=true`, or skips through `context.skip()`
 * with a warning when given a test context, or throws.
 *
 * @example
 * ```ts
 * it('talks to Dovecot', async (ctx) => { requireDovecot(ctx); … });
 * ```
 */
export function requireDovecot(context?: { skip: (note?: string) => void }): void {
  if (dovecotInstalled) return;
  if (process.env.CI !== 'true' && context) {
    console.warn(`\n⚠️  SKIPPING: ${MISSING}\n`);
    context.skip(MISSING);
    return;
  }
  throw new Error(MISSING);
}

/**
 * Starts a Dovecot server for one test file (typical start: well under a second; the
 * certificate is cached across test files). Several servers may run at once.
 *
 * @example
 * ```ts
 * const server = await startDovecot({ users: [{ name: 'ann', password: 'secret' }], apop: true });
 * await server.seed('ann', [Buffer.from('Subject: a\r\n\r\nbody\r\n')]);
 * // connect to server.popsPort with tlsOptions: { ca: server.caPem }
 * await server.stop();
 * ```
 */
export async function startDovecot(options: DovecotOptions): Promise<DovecotServer> {
  if (!dovecotBinary) throw new Error(MISSING);
  if (options.pipelining === false) {
    throw new Error('Dovecot always advertises PIPELINING; use the fake POP3 server for a server without it');
  }
  const identity = runAsIdentity();
  const cert = await localhostCertificate();
  let lastError: unknown;
  // A port picked as free may be taken by someone else before Dovecot binds it: try again
  // with fresh ports.
  for (let attempt = 1; attempt <= 5; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'multipop-dovecot-'));
    try {
      return await startIn(dir, dovecotBinary, options, identity, cert);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      lastError = err;
      if (!/address already in use/i.test(String((err as Error).message))) throw err;
    }
  }
  throw lastError;
}

interface Identity {
  user: string;
  group: string;
  /** Set when running as root: files are handed to this unprivileged owner. */
  owner?: FileOwner;
}

async function startIn(
  dir: string,
  binary: string,
  options: DovecotOptions,
  identity: Identity,
  cert: { certPem: string; keyPem: string },
): Promise<DovecotServer> {
  const paths = dovecotPaths(dir);
  const lmtp = options.lmtp === true || options.sieveBefore !== undefined;
  const [popPort, popsPort, lmtpPort] = await freePorts(lmtp ? 3 : 2);
  if (popPort === undefined || popsPort === undefined) throw new Error('no free ports');

  // The unprivileged Dovecot processes must reach the passwd file and the Maildirs.
  await chmod(dir, 0o755);
  await writeFile(paths.cert, cert.certPem, { mode: 0o644 });
  await writeFile(paths.key, cert.keyPem, { mode: 0o600 });
  await writeFile(paths.passwd, renderPasswdFile(options.users, paths.mailRoot), { mode: 0o644 });
  if (options.oauth2) {
    const oauth = renderOAuth2Config({
      introspectionUrl: options.oauth2.introspectionUrl,
      usernameAttribute: options.oauth2.usernameAttribute ?? 'sub',
      ...(options.oauth2.clientId === undefined ? {} : { clientId: options.oauth2.clientId }),
      ...(options.oauth2.clientSecret === undefined ? {} : { clientSecret: options.oauth2.clientSecret }),
    });
    await writeFile(paths.oauth2, oauth, { mode: 0o600 });
  }
  let sieveConfig: string | undefined;
  if (options.sieveBefore) {
    // Owned by the mail user, so Pigeonhole can store the compiled script next to it.
    await mkdir(paths.sieveDir, { mode: 0o755 });
    await writeFile(paths.sieveBefore, options.sieveBefore.script, { mode: 0o644 });
    if (identity.owner) {
      await chown(paths.sieveDir, identity.owner.uid, identity.owner.gid);
      await chown(paths.sieveBefore, identity.owner.uid, identity.owner.gid);
    }
    sieveConfig = (options.sieveBefore.config ?? renderSieveBeforeConfig)(paths.sieveBefore);
  }
  await writeFile(
    paths.config,
    renderDovecotConfig({
      dir,
      popPort,
      popsPort,
      ...(lmtpPort === undefined ? {} : { lmtpPort }),
      runAs: { user: identity.user, group: identity.group },
      apop: options.apop === true,
      oauth2: options.oauth2 !== undefined,
      ...(sieveConfig === undefined ? {} : { sieveConfig }),
      ...(options.extraConfig === undefined ? {} : { extraConfig: options.extraConfig }),
    }),
    { mode: 0o644 },
  );
  await mkdir(paths.mailRoot, { mode: 0o755 });
  if (identity.owner) await chown(paths.mailRoot, identity.owner.uid, identity.owner.gid);
  const maildir = (user: string) => join(paths.mailRoot, user, 'Maildir');
  for (const user of options.users) await makeMaildir(maildir(user.name), paths.mailRoot, identity.owner);

  await runDaemonizing(binary, ['-c', paths.config], paths.startupLog);
  // The master writes its pid before it forks into the background; poll briefly all the same.
  const pid = await readMasterPid(paths.masterPid, 5_000).catch(async (err: Error) => {
    throw new Error(`${err.message}\n${await tail(paths.log)}`);
  });
  const entry = trackDovecot(pid, dir);
  try {
    for (const port of [popPort, popsPort, lmtpPort]) if (port !== undefined) await waitForPort(port, 10_000);
  } catch (err) {
    const log = await tail(paths.log);
    await stopProcess(pid);
    runningServers.delete(entry);
    throw new Error(`${(err as Error).message}\n${log}`);
  }

  let sequence = 0;
  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    popPort,
    popsPort,
    ...(lmtpPort === undefined ? {} : { lmtpPort }),
    caPem: cert.certPem,
    dir,
    configPath: paths.config,
    maildir,
    async seed(user, messages) {
      await makeMaildir(maildir(user), paths.mailRoot, identity.owner);
      await deliverToMaildir(maildir(user), messages, () => sequence++, identity.owner);
    },
    messages: (user) => readMaildir(maildir(user)),
    logText: () => readFile(paths.log, 'utf8').catch(() => ''),
    stop() {
      stopped ??= (async () => {
        await stopProcess(pid);
        runningServers.delete(entry);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

// ————— process bookkeeping —————

type RunningServer = TrackedServer;

/** Servers not yet stopped are killed (the whole group: no time for a graceful stop) at exit. */
function trackDovecot(pid: number, dir: string): RunningServer {
  const entry: RunningServer = {
    kill: () => signal(processGroupOf(pid) === pid ? -pid : pid, 'SIGKILL'),
    dir,
  };
  runningServers.add(entry);
  return entry;
}

async function readMasterPid(path: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => '');
    const pid = Number.parseInt(text.trim(), 10);
    if (pid > 0) return pid;
    if (Date.now() > deadline) throw new Error(`dovecot wrote no ${path}`);
    await sleep(10);
  }
}

/**
 * Stops a Dovecot master and all its children. A graceful SIGTERM alone takes Dovecot about
 * three seconds (it waits for its children in rounds), which every test file would pay in
 * `afterAll`. The server's state is thrown away with its directory, so after a short grace
 * period the whole process group (the daemonized master leads its own) gets SIGKILL.
 */
async function stopProcess(pid: number): Promise<void> {
  if (!signal(pid, 'SIGTERM')) return;
  if (await exited(pid, 100)) return;
  if (processGroupOf(pid) === pid) signal(-pid, 'SIGKILL');
  else signal(pid, 'SIGKILL');
  await exited(pid, 5_000);
}

async function exited(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!signal(pid, 0)) return true;
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
}

function processGroupOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[2]); // state, ppid, pgrp
  } catch {
    return undefined;
  }
}

/**
 * Sends a signal; false when the process no longer exists. A zombie counts as gone: the
 * daemonized master is re-parented to PID 1, which in a container may never reap it.
 */
function signal(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, sig);
  } catch {
    return false;
  }
  if (pid < 0) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): trust kill()
  }
}

/**
 * Runs `dovecot -c CONF` and waits for the foreground process to exit (it forks the master into
 * the background). Output goes to a file, not a pipe: the daemon inherits the descriptors, and
 * a pipe would stay open as long as Dovecot runs.
 */
async function runDaemonizing(binary: string, args: string[], outputPath: string): Promise<void> {
  const fd = openSync(outputPath, 'w', 0o600);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(binary, args, { stdio: ['ignore', fd, fd] });
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    if (code !== 0) {
      const output = await readFile(outputPath, 'utf8').catch(() => '');
      throw new Error(`dovecot did not start (exit ${code}): ${output.trim()}`);
    }
  } finally {
    closeSync(fd);
  }
}

async function tail(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '(no log)');
  return `--- dovecot log ---\n${text.split('\n').slice(-30).join('\n')}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ————— environment —————

/**
 * `MULTIPOP_TEST_DOVECOT` overrides the search: a path to the binary, or `none` to behave as if
 * Dovecot were missing (to see the skip and the CI failure for yourself).
 */
function findDovecot(): string | undefined {
  const override = process.env['MULTIPOP_TEST_DOVECOT'];
  if (override === 'none') return undefined;
  const dirs = override
    ? []
    : [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  if (override) {
    try {
      accessSync(override, constants.X_OK);
      return override;
    } catch {
      return undefined;
    }
  }
  for (const dir of dirs) {
    const candidate = join(dir, 'dovecot');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

let identityCache: Identity | undefined;

/** As root, Dovecot's processes and the mail belong to `nobody`; otherwise to the current user. */
function runAsIdentity(): Identity {
  if (identityCache) return identityCache;
  const id = (...args: string[]) => execFileSync('id', args, { encoding: 'utf8' }).trim();
  if (process.getuid?.() === 0) {
    identityCache = {
      user: 'nobody',
      group: id('-gn', 'nobody'),
      owner: { uid: Number(id('-u', 'nobody')), gid: Number(id('-g', 'nobody')) },
    };
  } else {
    identityCache = { user: userInfo().username, group: id('-gn') };
  }
  return identityCache;
}
