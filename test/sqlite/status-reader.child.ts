/**
 * Child process for sqlite-store.test.ts: opens the store read-only (no key, like an admin's
 * `status`), reads the statuses in a loop while the parent writes, and prints what it saw as
 * JSON once it sees the final value. Not a test file itself.
 */
import { openSqliteStore } from '../../src/sqlite/index.js';

const [path, finalValue] = [process.argv[2]!, Number(process.argv[3])];
const store = await openSqliteStore({ path, readonly: true, busyTimeoutMs: 10_000 });
const seen: number[] = [];
const errors: string[] = [];
process.stdout.write('ready\n');
for (;;) {
  try {
    const statuses = await store.ledger.listStatus();
    const sessions = statuses.find((s) => s.mailboxId === 'm1')?.totalSessions ?? 0;
    if (seen.at(-1) !== sessions) {
      seen.push(sessions);
      process.stdout.write(`seen ${sessions}\n`);
    }
    // A consistent snapshot: the ledger row count written in the same transaction never lags.
    const records = await store.ledger.load('m1');
    if (records.size < sessions) errors.push(`snapshot: ${records.size} records < ${sessions} sessions`);
    if (sessions >= finalValue) break;
  } catch (err) {
    errors.push(String(err));
    if (errors.length > 5) break;
  }
  await new Promise((resolve) => setImmediate(resolve));
}
await store.close();
process.stdout.write(`${JSON.stringify({ seen, errors })}\n`);
