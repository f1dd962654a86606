/**
 * Message identity against a real Dovecot (pop3_uidl_format = %08Xu%08Xv: UID and UIDVALIDITY):
 * a mailbox rebuilt between two leave-on-server sessions gets a new UIDVALIDITY, so every UIDL
 * changes with the content unchanged. The second session re-keys the ledger by size and header
 * fingerprint (TOP n 0): 0 messages delivered again, new mail still collected.
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { passwordAuth } from '../../src/auth/index.js';
import type { CollectorEventName, CollectorEvents } from '../../src/collect/events.js';
import { runSession } from '../../src/collect/session.js';
import { parseMailboxEntry, parseServerSettings } from '../../src/config/index.js';
import { createLog } from '../../src/log/index.js';
import { memoryLedger, memoryQueue } from '../../src/stores/index.js';
import { type DovecotServer, describeWithDovecot, startDovecot } from '../helpers/dovecot.js';
import { seqOf, testMessage } from '../support/messages.js';

describeWithDovecot('identity against Dovecot: UIDVALIDITY changes between two sessions', () => {
  let dovecot: DovecotServer;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: [{ name: 'rebuilt', password: 'pw-rebuilt' }] });
  });
  afterAll(async () => dovecot?.stop());

  it('re-keys instead of delivering again, and still collects new mail', async () => {
    const originals = Array.from({ length: 12 }, (_, i) => testMessage(i + 1, 600 + (i % 4) * 200));
    await dovecot.seed('rebuilt', originals);
    const queue = memoryQueue();
    const ledger = memoryLedger();
    const events: { name: CollectorEventName; payload: unknown }[] = [];
    const entry = parseMailboxEntry({
      id: 'rebuilt-box',
      server: `${dovecot.host}:${dovecot.popsPort}`,
      tls: 'implicit',
      username: 'rebuilt',
      password: 'pw-rebuilt',
      leaveOnServer: true,
    });
    const run = () =>
      runSession({
        userId: 'ann@example.com',
        entry,
        settings: parseServerSettings({}),
        queue,
        ledger,
        auth: passwordAuth(),
        emit: <K extends CollectorEventName>(name: K, payload: CollectorEvents[K]) =>
          events.push({ name, payload }),
        log: createLog(false),
        connection: { tlsOptions: { ca: dovecot.caPem } },
      });

    expect((await run()).collected).toBe(12);
    const before = [...(await ledger.load('rebuilt-box')).keys()];

    // Rebuild: Dovecot's UID list and indexes go; a fresh UID list with another UIDVALIDITY
    // makes Dovecot number every message anew.
    const maildir = dovecot.maildir('rebuilt');
    for (const name of await readdir(maildir)) {
      if (name.startsWith('dovecot.index') || name === 'dovecot-uidlist')
        await rm(join(maildir, name), { force: true });
    }
    await writeFile(join(maildir, 'dovecot-uidlist'), '3 V1234567 N1\n');
    await dovecot.seed('rebuilt', [testMessage(13, 900), testMessage(14, 1_100)]);

    const second = await run();
    expect(second.collected).toBe(2);
    expect(queue.messages.map((m) => seqOf(m.content)).sort((a, b) => a! - b!)).toEqual(
      Array.from({ length: 14 }, (_, i) => i + 1),
    );
    const changed = events.find((e) => e.name === 'mailbox:uidls-changed')?.payload as
      | CollectorEvents['mailbox:uidls-changed']
      | undefined;
    expect(changed?.mass).toBe(true);
    expect(changed?.rekeyed).toHaveLength(12);
    const after = [...(await ledger.load('rebuilt-box')).keys()];
    expect(after.filter((u) => before.includes(u))).toEqual([]);
    expect((await run()).collected).toBe(0);
  });
});
