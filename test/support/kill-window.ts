import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/sqlite/index.js';

/** What the collector's Maildir and ledger hold between two runs (no process has them open). */
export interface RunState {
  /** Names in new/. */
  delivered: Set<string>;
  /** Files in tmp/ (what an interrupted delivery leaves). */
  staged: number;
  /** UIDLs the ledger holds as collected. */
  collected: Set<string>;
  /** Of those, how many wait for a DELE (delete mode). */
  pending: number;
}

/** What test/support/kill-points.mjs wrote as it killed the process. */
export interface KillReport {
  point: 'file' | 'new' | 'wal' | 'dele';
  nth: number;
  /** DELE commands written to the socket before the kill. */
  delesSent: number;
}

/**
 * Reads the Maildir and the ledger of the single-mailbox collector command (mailbox id
 * `mailbox`, the SQLite store in `stateDir`).
 */
export async function readRunState(maildir: string, stateDir: string): Promise<RunState> {
  const list = (sub: string) => readdir(join(maildir, sub)).catch(() => [] as string[]);
  const path = join(stateDir, 'multipop.sqlite');
  const keyFile = join(stateDir, 'store.key');
  // No store yet (the first run was killed before it made one): opening would create it.
  const store =
    existsSync(path) && existsSync(keyFile)
      ? await openSqliteStore({ path, key: (await readFile(keyFile, 'utf8')).trim() })
      : undefined;
  const collected = new Set<string>();
  let pending = 0;
  if (store) {
    try {
      for (const record of (await store.ledger.load('mailbox')).values()) {
        if (!record.collected) continue;
        collected.add(record.uidl);
        if (record.deletePending) pending++;
      }
    } finally {
      await store.close();
    }
  }
  return { delivered: new Set(await list('new')), staged: (await list('tmp')).length, collected, pending };
}

/** The UIDL the collector's trace header names (`X-MultiPOP-Source: mailbox; uidl=…`). */
async function uidlOf(path: string): Promise<string> {
  const head = (await readFile(path)).subarray(0, 2_000).toString('latin1');
  const match = /X-MultiPOP-Source: [^;]*;\s+uidl=([^\r\n]+)/.exec(head);
  if (!match) throw new Error(`no trace header in ${path}`);
  return match[1]!;
}

/**
 * Whether an aimed kill left the state of the window it aimed at, judged from what the kill
 * left behind (not from the aim), and how many messages were in that window:
 *
 * - `file` (B2–B5): a message file of this run is in tmp/, synced, not renamed: the staged count.
 * - `new` (B5–B7): messages of this run in new/ that the ledger does not hold: the queue has them
 *   durably, the ledger not — the batch between queue and ledger.
 * - `wal` (B7–B8): the ledger holds messages as collected that it did not hold before the run;
 *   in delete mode, more messages pending deletion than DELEs went out (durable in the ledger,
 *   no DELE yet). In leave mode the count is all messages the run recorded (the batch itself
 *   cannot be told apart from outside).
 * - `dele` (B8): the DELE killed at is one for a message collected in this run (not one of the
 *   deletions re-issued at the start of the session): DELEs before it exceed the pending ones
 *   the run started with.
 */
export async function killWindow(
  maildir: string,
  before: RunState,
  after: RunState,
  report: KillReport,
  deleteMode: boolean,
): Promise<{ hit: boolean; inWindow: number }> {
  const fresh = [...after.delivered].filter((name) => !before.delivered.has(name));
  const uidls = await Promise.all(fresh.map((name) => uidlOf(join(maildir, 'new', name))));
  // Recorded in this run: fresh files, and messages a retry found already in the queue.
  const recorded = [...after.collected].filter((uidl) => !before.collected.has(uidl)).length;
  switch (report.point) {
    case 'file': {
      const staged = after.staged - before.staged;
      return { hit: staged > 0, inWindow: staged };
    }
    case 'new': {
      const unrecorded = uidls.filter((uidl) => !after.collected.has(uidl)).length;
      return { hit: unrecorded > 0, inWindow: unrecorded };
    }
    case 'wal': {
      const undeleted = after.pending - report.delesSent;
      return deleteMode
        ? { hit: recorded > 0 && undeleted > 0, inWindow: undeleted }
        : { hit: recorded > 0, inWindow: recorded };
    }
    case 'dele':
      return { hit: report.delesSent >= before.pending, inWindow: after.pending - report.delesSent };
  }
}
