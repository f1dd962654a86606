/**
 * The benchmark's POP3 server: one private Dovecot (implicit TLS on loopback) started with
 * the test harness, plus what the benchmark needs on top — emptying a mailbox between runs
 * and writing the CA certificate to a file for the contenders' `POP_CA`.
 */
import { open, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DovecotServer, startDovecot } from '../../test/helpers/dovecot.js';
import { findMessageId } from './verify.js';

/** A running benchmark server. */
export interface BenchServer {
  dovecot: DovecotServer;
  /** PEM file of the server certificate (valid for localhost and 127.0.0.1). */
  caFile: string;
  /** Dovecot's version line, for the report. */
  version: string;
  /** Removes every message from the user's Maildir (no session may be open). */
  empty(user: string): Promise<void>;
  /** The Message-IDs of the messages in the user's mailbox now. */
  messageIds(user: string): Promise<Set<string>>;
  stop(): Promise<void>;
}

/**
 * Starts Dovecot with the given users (all with password `bench-<user>`).
 *
 * @example
 * ```ts
 * const server = await startBenchServer(['s1', 's2']);
 * await server.dovecot.seed('s1', messages);
 * ```
 */
export async function startBenchServer(users: readonly string[]): Promise<BenchServer> {
  const dovecot = await startDovecot({ users: users.map((name) => ({ name, password: passwordOf(name) })) });
  const caFile = join(dovecot.dir, 'bench-ca.pem');
  await writeFile(caFile, dovecot.caPem, { mode: 0o644 });
  const log = await dovecot.logText();
  const version = /Dovecot v([\w.-]+(?: \([0-9a-f]+\))?)/.exec(log)?.[1] ?? 'unknown';
  return {
    dovecot,
    caFile,
    version,
    async empty(user) {
      const maildir = dovecot.maildir(user);
      for (const sub of ['new', 'cur']) {
        const names = await readdir(join(maildir, sub)).catch(() => [] as string[]);
        await Promise.all(names.map((name) => rm(join(maildir, sub, name), { force: true })));
      }
    },
    async messageIds(user) {
      const ids = new Set<string>();
      const maildir = dovecot.maildir(user);
      const head = Buffer.alloc(64 * 1024);
      for (const sub of ['new', 'cur']) {
        for (const name of await readdir(join(maildir, sub)).catch(() => [] as string[])) {
          // Only the header is needed: a 100 MB message is not read whole.
          const file = await open(join(maildir, sub, name)).catch(() => undefined);
          if (!file) continue;
          const { bytesRead } = await file.read(head, 0, head.length, 0).finally(() => file.close());
          const id = findMessageId(head.subarray(0, bytesRead));
          if (id) ids.add(id);
        }
      }
      return ids;
    },
    stop: () => dovecot.stop(),
  };
}

/**
 * The password of a benchmark user.
 *
 * @example
 * ```ts
 * passwordOf('s1'); // 'bench-s1'
 * ```
 */
export function passwordOf(user: string): string {
  return `bench-${user}`;
}
