import { describe, expect, it } from 'vitest';
import { MultiPopError } from '../../src/errors/index.js';
import { emptyMailboxStatus } from '../../src/ports/index.js';
import { entry, setup } from './support.js';

const users = [
  { id: 'ann', entries: [entry('ann-on'), entry('ann-off', 'pop.example.com', { enabled: false })] },
  { id: 'bob', enabled: false, entries: [entry('bob-1')] },
  { id: 'cid', entries: [entry('cid-1')] },
];

describe('switches S1, U1, M8', () => {
  it('S1 off: nothing is collected and collectNow returns []', async () => {
    const { fetcher, sessions } = setup({ settings: { enabled: false }, users });
    expect(await fetcher.collectNow()).toEqual([]);
    expect(await fetcher.collectNow({ mailboxId: 'ann-on', force: true })).toEqual([]);
    expect(sessions.calls).toHaveLength(0);
  });

  it('U1 off skips all of the user’s entries; M8 off skips the entry; the rest run', async () => {
    const { fetcher, sessions } = setup({ users });
    const summaries = await fetcher.collectNow();
    const byId = Object.fromEntries(summaries.map((s) => [s.mailboxId, s]));
    expect(byId['ann-on']).toMatchObject({ ok: true, userId: 'ann', result: { collected: 1 } });
    expect(byId['ann-off']).toMatchObject({ ok: false, skipped: 'entry-disabled' });
    expect(byId['bob-1']).toMatchObject({ ok: false, skipped: 'user-disabled' });
    expect(byId['cid-1']).toMatchObject({ ok: true });
    expect(sessions.calls.map((c) => c.entry.id).sort()).toEqual(['ann-on', 'cid-1']);
  });

  it('collectNow selects one user or one mailbox; unknown ids are NOT_FOUND', async () => {
    const { fetcher, sessions } = setup({ users });
    expect((await fetcher.collectNow({ userId: 'cid' })).map((s) => s.mailboxId)).toEqual(['cid-1']);
    expect((await fetcher.collectNow({ mailboxId: 'ann-on' })).map((s) => s.mailboxId)).toEqual(['ann-on']);
    expect(sessions.calls.map((c) => c.entry.id)).toEqual(['cid-1', 'ann-on']);
    await expect(fetcher.collectNow({ userId: 'nobody' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(fetcher.collectNow({ mailboxId: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(fetcher.collectNow({ mailboxId: 'ann-on', userId: 'cid' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('switching U1 or M8 in the directory applies at the next cycle', async () => {
    const { fetcher, sessions, directory } = setup({ users });
    await directory.putUser({ id: 'bob', enabled: true, mayEditSettings: false });
    const located = await directory.getEntry('ann-on');
    await directory.putEntry('ann', { ...located!.entry, enabled: false });
    await fetcher.collectNow();
    expect(sessions.calls.map((c) => c.entry.id).sort()).toEqual(['bob-1', 'cid-1']);
  });
});

describe('needs-permission and back-off', () => {
  it('an entry flagged needsPermission is skipped (even with force) until a grant completes', async () => {
    const { fetcher, sessions, ledger } = setup({ users: [{ id: 'ann', entries: [entry('ann-1')] }] });
    await ledger.saveStatus({ ...emptyMailboxStatus('ann-1'), needsPermission: true });
    expect(await fetcher.collectNow({ force: true })).toEqual([
      { mailboxId: 'ann-1', userId: 'ann', ok: false, skipped: 'needs-permission' },
    ]);
    expect(sessions.calls).toHaveLength(0);
    await fetcher.handleOAuthEvent({ type: 'granted', userId: 'ann', mailboxId: 'ann-1' });
    expect((await fetcher.collectNow())[0]?.ok).toBe(true);
  });

  it('a mailbox in back-off is skipped until due, unless forced', async () => {
    let clock = 1_000_000;
    const { fetcher, sessions, ledger } = setup(
      { users: [{ id: 'ann', entries: [entry('ann-1')] }] },
      { now: () => clock },
    );
    await ledger.saveStatus({
      ...emptyMailboxStatus('ann-1'),
      consecutiveFailures: 2,
      nextAttemptAt: clock + 60_000,
    });
    expect((await fetcher.collectNow())[0]).toMatchObject({ skipped: 'backoff' });
    expect((await fetcher.collectNow({ force: true }))[0]).toMatchObject({ ok: true });
    expect(sessions.calls).toHaveLength(1);

    await ledger.saveStatus({
      ...emptyMailboxStatus('ann-1'),
      consecutiveFailures: 2,
      nextAttemptAt: clock + 60_000,
    });
    clock += 60_000;
    expect((await fetcher.collectNow())[0]).toMatchObject({ ok: true });
    expect(sessions.calls).toHaveLength(2);
  });

  it('an OAUTH_NEEDS_PERMISSION failure pauses the entry without back-off; the grant resumes it', async () => {
    const { fetcher, sessions, ledger } = setup({ users: [{ id: 'ann', entries: [entry('ann-1')] }] });
    sessions.when('ann-1', (_o, call) => {
      if (call === 1)
        throw new MultiPopError('OAUTH_NEEDS_PERMISSION', 'grant revoked', { mailboxId: 'ann-1' });
      return { collected: 2, bytes: 10, skipped: 0, deleted: 0, onServer: 2 };
    });
    const events: string[] = [];
    fetcher.on('mailbox:needs-permission', (e) => events.push(`needs:${e.mailboxId}:${e.error.code}`));
    fetcher.on('mailbox:error', (e) => events.push(`error:${e.mailboxId}`));

    const [first] = await fetcher.collectNow();
    expect(first).toMatchObject({ ok: false, error: { code: 'OAUTH_NEEDS_PERMISSION' } });
    const paused = await ledger.loadStatus('ann-1');
    expect(paused).toMatchObject({
      needsPermission: true,
      consecutiveFailures: 0,
      lastErrorCode: 'OAUTH_NEEDS_PERMISSION',
    });
    expect(paused?.nextAttemptAt).toBeUndefined();

    // Many cycles later: still one event, still one session.
    for (let i = 0; i < 5; i++) await fetcher.collectNow();
    expect(events).toEqual(['needs:ann-1:OAUTH_NEEDS_PERMISSION']);
    expect(sessions.calls).toHaveLength(1);

    await fetcher.handleOAuthEvent({ type: 'granted', userId: 'ann', mailboxId: 'ann-1' });
    expect((await fetcher.collectNow())[0]).toMatchObject({ ok: true, result: { collected: 2 } });
    expect(await ledger.loadStatus('ann-1')).toMatchObject({ needsPermission: false, totalMessages: 2 });
  });

  it('an OAuth service needs-permission event pauses the entry and is reported once', async () => {
    const { fetcher, sessions, ledger } = setup({ users: [{ id: 'ann', entries: [entry('ann-1')] }] });
    const seen: unknown[] = [];
    fetcher.on('mailbox:needs-permission', (e) =>
      seen.push({ mailboxId: e.mailboxId, host: e.host, userId: e.userId }),
    );
    await fetcher.handleOAuthEvent({ type: 'needs-permission', userId: 'ann', mailboxId: 'ann-1' });
    await fetcher.handleOAuthEvent({ type: 'needs-permission', userId: 'ann', mailboxId: 'ann-1' });
    expect(seen).toEqual([{ mailboxId: 'ann-1', host: 'pop.example.com', userId: 'ann' }]);
    expect((await ledger.loadStatus('ann-1'))?.needsPermission).toBe(true);
    expect((await fetcher.collectNow())[0]?.skipped).toBe('needs-permission');
    expect(sessions.calls).toHaveLength(0);
  });
});
