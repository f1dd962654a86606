import { describe, expect, it } from 'vitest';
import type { CollectorEvents } from '../../src/collect/events.js';
import { entry, setup } from './support.js';

const users = [
  {
    id: 'full',
    entries: [entry('full-1'), entry('full-2'), entry('full-off', 'pop.example.com', { enabled: false })],
  },
  { id: 'fine', entries: [entry('fine-1')] },
];

describe('quota hook', () => {
  it('skips the entries of a user over quota and reports it; other users are collected', async () => {
    const asked: string[] = [];
    const { fetcher, sessions, directory } = setup(
      { users },
      {
        isOverQuota: async (userId) => {
          asked.push(userId);
          return userId === 'full';
        },
      },
    );
    const events: CollectorEvents['user:over-quota'][] = [];
    fetcher.on('user:over-quota', (e) => events.push(e));
    const summaries = await fetcher.collectNow();
    const byId = Object.fromEntries(summaries.map((s) => [s.mailboxId, s]));
    expect(byId['full-1']).toMatchObject({ ok: false, skipped: 'over-quota' });
    expect(byId['full-2']).toMatchObject({ ok: false, skipped: 'over-quota' });
    expect(byId['full-off']).toMatchObject({ skipped: 'entry-disabled' });
    expect(byId['fine-1']?.ok).toBe(true);
    expect(sessions.calls.map((c) => c.entry.id)).toEqual(['fine-1']);
    expect(events).toEqual([{ userId: 'full', disabledEntries: [] }]);
    expect(asked.sort()).toEqual(['fine', 'full']);
    // 'skip' leaves the directory alone.
    expect((await directory.getEntry('full-1'))?.entry.enabled).toBe(true);
  });

  it("'disable-entries' disables the user's enabled entries in the directory and names them", async () => {
    let over = true;
    const { fetcher, sessions, directory } = setup(
      { users },
      { isOverQuota: (userId) => over && userId === 'full', overQuotaAction: 'disable-entries' },
    );
    const events: CollectorEvents['user:over-quota'][] = [];
    fetcher.on('user:over-quota', (e) => events.push(e));
    await fetcher.collectNow();
    expect(events).toEqual([{ userId: 'full', disabledEntries: ['full-1', 'full-2'] }]);
    expect((await directory.getEntry('full-1'))?.entry.enabled).toBe(false);
    expect((await directory.getEntry('full-2'))?.entry.enabled).toBe(false);

    // Back under quota: the entries stay off until someone enables them (as the original does).
    over = false;
    const summaries = await fetcher.collectNow({ userId: 'full' });
    expect(summaries.every((s) => s.skipped === 'entry-disabled')).toBe(true);
    expect(sessions.callsFor('full-1')).toHaveLength(0);
  });

  it('a quota check that throws skips that user with a typed error and collects the rest', async () => {
    const { fetcher, sessions } = setup(
      { users },
      {
        isOverQuota: (userId) => {
          if (userId === 'full') throw new Error('quota service down');
          return false;
        },
      },
    );
    const summaries = await fetcher.collectNow();
    expect(summaries.find((s) => s.mailboxId === 'full-1')).toMatchObject({
      ok: false,
      error: { code: 'STORE_ERROR' },
    });
    expect(sessions.calls.map((c) => c.entry.id)).toEqual(['fine-1']);
  });
});
