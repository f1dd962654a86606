/**
 * A real PostgreSQL server per test file (or script): its own temp data directory, a free
 * loopback port, a private unix-socket directory, trust authentication for the `postgres`
 * role. PostgreSQL refuses to run as root, so as root (tests and CI) the server runs as the
 * `postgres` system user through `setpriv`, which execs — the child's pid is the server's.
 *
 * Suites that need it use {@link describeWithPostgres}: a loud skip without PostgreSQL on a
 * developer's machine, a failure under `CI=true`.
 *
 * @example
 * ```ts
 * describeWithPostgres('pg store', () => {
 *   let pg: PostgresServer;
 *   beforeAll(async () => { pg = await startPostgres(); });
 *   afterAll(() => pg?.stop());
 *   it('…', async () => { const pool = new pg.Pool({ connectionString: pg.url }); … });
 * });
 * ```
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.js';
import { describeWithServer, runningServers, spawnServer, stopChild } from './server-process.js';

const BIN_DIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];

/** The directory with `initdb` and `postgres`, or undefined when PostgreSQL is not installed. */
export const postgresBinDir: string | undefined = BIN_DIRS.find((dir) => {
  try {
    accessSync(join(dir, 'postgres'), constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

const MISSING =
  'PostgreSQL is not installed (no /usr/lib/postgresql/<15–17>/bin/postgres). Install it with: ' +
  'apt-get install -y postgresql (or run scripts/ensure-test-servers.sh as root)';

/** `describe()` for suites that need a real PostgreSQL (fails under CI=true when missing). */
export function describeWithPostgres(name: string, fn: () => void): void {
  describeWithServer(name, { installed: postgresBinDir !== undefined, missing: MISSING }, fn);
}

/** Options of {@link startPostgres}. */
export interface PostgresOptions {
  /**
   * Keep PostgreSQL's durability settings (fsync, synchronous commit). Off by default: test
   * data is thrown away, and fsync on a shared CI disk only adds noise. Benchmarks turn it on.
   * @default false
   */
  durable?: boolean;
  /** `max_connections`. @default 200 */
  maxConnections?: number;
  /**
   * Roles other than `postgres` must sign in over TCP with their password (scram-sha-256), as
   * on a real server; `postgres` (the helper's own role) keeps trust. Off: every role is trusted.
   * @default false
   */
  passwordAuth?: boolean;
}

/** A running private PostgreSQL. */
export interface PostgresServer {
  host: '127.0.0.1';
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  url: string;
  /** The data directory (deleted by `stop()`). */
  dir: string;
  /** A fresh database on this server; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Ends every client connection but the one asking (pg_terminate_backend); returns how many. */
  terminateConnections(): Promise<number>;
  /** The server's recent output. */
  output(): string;
  /** Fast shutdown, then deletes the data directory. Idempotent. */
  stop(): Promise<void>;
}

const asPostgresUser = process.getuid?.() === 0;

/** Starts a private PostgreSQL (about a second: initdb runs once per process into a template). */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  if (!postgresBinDir) throw new Error(MISSING);
  const template = await initdbTemplate(postgresBinDir);
  let lastError: unknown;
  for (let attempt = 1; attempt <= 5; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'multipop-pg-'));
    try {
      return await startIn(dir, template, postgresBinDir, options);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      lastError = err;
      if (!/address already in use|could not bind/i.test(String((err as Error).message))) throw err;
    }
  }
  throw lastError;
}

let templateDir: Promise<string> | undefined;

/** One initdb per process; every server copies it (initdb is most of a cold start). */
function initdbTemplate(binDir: string): Promise<string> {
  templateDir ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'multipop-pg-template-'));
    const data = join(dir, 'data');
    await mkdir(data, { mode: 0o700 });
    await handToPostgres(dir, data);
    // Removed with the servers when the process ends, also when a signal ends it.
    runningServers.add({ kill: () => undefined, dir });
    execFileSync(
      ...asUser(join(binDir, 'initdb'), [
        '-D',
        data,
        '-U',
        'postgres',
        '-A',
        'trust',
        '-E',
        'UTF8',
        '--no-sync',
      ]),
      { stdio: 'pipe' },
    );
    return data;
  })();
  return templateDir;
}

async function startIn(
  dir: string,
  template: string,
  binDir: string,
  options: PostgresOptions,
): Promise<PostgresServer> {
  const data = join(dir, 'data');
  const sockets = join(dir, 'sockets');
  // cp -a keeps the owner (the postgres user) and the 0700 modes PostgreSQL insists on.
  execFileSync('cp', ['-a', template, data]);
  if (options.passwordAuth) {
    const hba = join(data, 'pg_hba.conf');
    await writeFile(
      hba,
      'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n',
    );
    await handToPostgres(hba);
  }
  await mkdir(sockets, { mode: 0o700 });
  await handToPostgres(dir, sockets);
  const port = await freePort();
  const durability = options.durable
    ? []
    : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const args = [
    '-D',
    data,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${sockets}`,
    '-c',
    `max_connections=${options.maxConnections ?? 200}`,
    '-c',
    'shared_buffers=64MB',
    ...durability,
  ];
  const server = spawnServer(...asUser(join(binDir, 'postgres'), args), { dir });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  try {
    await waitUntilReady(url, server.exited, server.output, 20_000);
  } catch (err) {
    await stopChild(server.child, 'SIGKILL', 1_000);
    runningServers.delete(server.tracked);
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    url,
    dir,
    async createDatabase(name) {
      await withClient(url, (client) => client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`));
      return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    },
    terminateConnections: () =>
      withClient(url, async (client) => {
        const result = await client.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'`,
        );
        return result.rowCount ?? 0;
      }),
    output: server.output,
    stop() {
      // SIGINT is PostgreSQL's fast shutdown: clients are disconnected, no checkpoint wait.
      stopped ??= (async () => {
        await stopChild(server.child, 'SIGINT', 5_000);
        runningServers.delete(server.tracked);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

async function waitUntilReady(
  url: string,
  exited: Promise<void>,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone) throw new Error(`postgres exited while starting:\n${output()}`);
    try {
      await withClient(url, (client) => client.query('SELECT 1'));
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`postgres not ready after ${timeoutMs} ms: ${(err as Error).message}\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** As root, the server's files belong to the `postgres` user (it refuses root). */
async function handToPostgres(...paths: string[]): Promise<void> {
  if (!asPostgresUser) return;
  const { uid, gid } = postgresIds();
  for (const path of paths) await chown(path, uid, gid);
}

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** `[command, args]`, wrapped in setpriv as the postgres user when running as root. */
function asUser(command: string, args: string[]): [string, string[]] {
  if (!asPostgresUser) return [command, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]];
}
