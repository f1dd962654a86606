import { describe, expect, it } from 'vitest';
import { parseConfig, parseMailboxEntry } from '../../src/config/index.js';
import { memoryDirectory, memoryLedger } from '../../src/stores/index.js';

const entry = (id: string) =>
  parseMailboxEntry({ id, server: 'pop.example.net', username: id, password: 'pw' });

describe('memoryDirectory', () => {
  it('starts from a configuration, copied (later edits to it do not leak in)', async () => {
    const config = parseConfig({
      settings: { alwaysDelete: true },
      users: [{ id: 'ann', entries: [entry('e1')] }],
    });
    const directory = memoryDirectory(config);
    config.users[0]!.entries[0]!.password = 'changed';
    config.settings.alwaysDelete = false;
    expect((await directory.getEntry('e1'))?.entry.password).toBe('pw');
    expect((await directory.getSettings()).alwaysDelete).toBe(true);
    expect((await directory.getUser('ann'))?.enabled).toBe(true);
  });

  it('starts with the default settings when given no configuration', async () => {
    expect(await memoryDirectory().getSettings()).toMatchObject({
      enabled: true,
      alwaysDelete: false,
      schedule: { mode: 'manual' },
    });
  });

  it('keeps users and entries in the order first added, also when replaced', async () => {
    const directory = memoryDirectory();
    for (const id of ['zed', 'ann', 'bob'])
      await directory.putUser({ id, enabled: true, mayEditSettings: false });
    for (const id of ['e3', 'e1', 'e2']) await directory.putEntry('ann', entry(id));
    await directory.putEntry('ann', { ...entry('e3'), enabled: false });
    await directory.putUser({ id: 'zed', enabled: false, mayEditSettings: false });
    expect((await directory.listUsers()).map((u) => u.id)).toEqual(['zed', 'ann', 'bob']);
    expect((await directory.getUser('ann'))?.entries.map((e) => [e.id, e.enabled])).toEqual([
      ['e3', false],
      ['e1', true],
      ['e2', true],
    ]);
  });
});

describe('memoryLedger', () => {
  it('applies nothing from a batch with a malformed change', async () => {
    const ledger = memoryLedger();
    const batch = [
      { type: 'collected', uidl: 'ok', at: 1 },
      { type: 'bogus', uidl: 'x' },
    ] as never;
    await expect(ledger.apply('m1', batch)).rejects.toMatchObject({ code: 'STORE_ERROR' });
    expect((await ledger.load('m1')).size).toBe(0);
  });

  it('lists statuses sorted by mailbox id', async () => {
    const ledger = memoryLedger();
    for (const id of ['c', 'a', 'b']) {
      await ledger.saveStatus({
        mailboxId: id,
        consecutiveFailures: 0,
        needsPermission: false,
        totalMessages: 0,
        totalBytes: 0,
        totalSessions: 0,
      });
    }
    expect((await ledger.listStatus()).map((s) => s.mailboxId)).toEqual(['a', 'b', 'c']);
  });
});
