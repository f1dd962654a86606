import { openCliStore } from '../cli-store.js';
import { loadCliConfig } from '../config-file.js';
import { ExitCode } from '../exit-codes.js';
import { formatBytes, type ProgressOutput } from '../progress.js';

/**
 * `multipop status`: per mailbox the last run, last success, last error and totals, read from the
 * store (SQLite or PostgreSQL) **read-only** — safe while a collector is running in another
 * process, or a fleet of them on the same database.
 */
export async function statusCommand(options: {
  config: string;
  json: boolean;
  out: ProgressOutput;
}): Promise<number> {
  const config = loadCliConfig(options.config);
  const store = await openCliStore(config.store, { readonly: true });
  try {
    const statuses = await store.ledger.listStatus();
    const owners = new Map<string, string>();
    for (const user of config.users) for (const entry of user.entries) owners.set(entry.id, user.id);
    const rows = statuses.map((s) => ({
      user: owners.get(s.mailboxId) ?? '',
      mailbox: s.mailboxId,
      lastRun: iso(s.lastRunAt),
      lastSuccess: iso(s.lastSuccessAt),
      lastError: s.lastErrorCode ? `${s.lastErrorCode} (${iso(s.lastErrorAt)})` : '',
      failures: s.consecutiveFailures,
      needsPermission: s.needsPermission,
      messages: s.totalMessages,
      bytes: s.totalBytes,
      sessions: s.totalSessions,
    }));
    if (options.json) {
      options.out.write(`${JSON.stringify(rows, null, 2)}\n`);
      return ExitCode.OK;
    }
    const table = [
      ['USER', 'MAILBOX', 'LAST RUN', 'LAST SUCCESS', 'LAST ERROR', 'FAILS', 'MESSAGES', 'BYTES'],
      ...rows.map((r) => [
        r.user,
        r.mailbox + (r.needsPermission ? ' (needs permission)' : ''),
        r.lastRun,
        r.lastSuccess,
        r.lastError,
        String(r.failures),
        String(r.messages),
        formatBytes(r.bytes),
      ]),
    ];
    const widths = table[0]!.map((_, col) => Math.max(...table.map((row) => row[col]!.length)));
    for (const row of table)
      options.out.write(
        `${row
          .map((cell, col) => cell.padEnd(widths[col]!))
          .join('  ')
          .trimEnd()}\n`,
      );
    if (rows.length === 0) options.out.write('(no mailbox has been collected yet)\n');
    return ExitCode.OK;
  } finally {
    await store.close();
  }
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z');
}
