import { describe, expect, it } from 'vitest';
import type { AuthProvider } from '../../src/auth/provider.js';
import type { CollectorEvents } from '../../src/collect/events.js';
import { MultiPopError } from '../../src/errors/index.js';
import type { FetcherOAuthService } from '../../src/fetcher/index.js';
import { type Actor, emptyMailboxStatus } from '../../src/ports/index.js';
import { entry, setup } from './support.js';

const gmailApp = {
  clientId: 'cid',
  clientSecret: 'client-secret-value',
  redirectUris: { 'example.com': 'https://mail.example.com/cb' },
};

/**
 * A fake OAuth service: a grant's state is `state:<starter>:<mailboxId>`, the starter being the
 * user id, or `admin`; like the real one, only the starter may complete it.
 */
function fakeOAuth(): FetcherOAuthService & { begun: unknown[] } {
  const begun: unknown[] = [];
  return {
    begun,
    async beginGrant(input) {
      begun.push(input);
      const starter = input.startedBy?.role === 'admin' ? 'admin' : input.userId;
      const state = `state:${starter}:${input.mailboxId}`;
      return { url: `https://accounts.example/auth?state=${state}`, state, expiresAt: 0 };
    },
    async completeGrant(callback, completedBy) {
      const [, starter = '', mailboxId = ''] = String(callback).split(':');
      const by =
        'role' in completedBy && completedBy.role === 'admin'
          ? 'admin'
          : (completedBy as { userId: string }).userId;
      if (by !== starter) {
        throw new MultiPopError('OAUTH_STATE_INVALID', 'state belongs to another session', {});
      }
      return { userId: starter, mailboxId };
    },
    authProviderFor(): AuthProvider {
      return { name: 'fake-oauth', async authenticate() {} };
    },
  };
}

interface Flags {
  s1: boolean;
  u1: boolean;
  u2: boolean;
}

function world(flags: Flags) {
  const oauth = fakeOAuth();
  const t = setup(
    {
      settings: { enabled: flags.s1, oauth: { gmail: gmailApp } },
      users: [
        {
          id: 'ann',
          enabled: flags.u1,
          mayEditSettings: flags.u2,
          entries: [
            entry('ann-1'),
            { id: 'ann-gmail', server: 'pop.gmail.com:995', username: 'ann@gmail.com', auth: 'oauth' },
          ],
        },
        { id: 'eve', enabled: true, mayEditSettings: true, entries: [entry('eve-1')] },
      ],
    },
    { oauth },
  );
  return { ...t, oauth };
}

type Operation = 'add' | 'update' | 'remove' | 'setEnabled' | 'list' | 'beginGrant' | 'completeGrant';
const operations: Record<
  Operation,
  (f: ReturnType<typeof world>['fetcher'], actor: Actor) => Promise<unknown>
> = {
  add: (f, a) => f.addEntry(a, 'ann', { server: 'pop.new.example', username: 'n', password: 'new-password' }),
  update: (f, a) => f.updateEntry(a, 'ann-1', { leaveOnServer: true }),
  remove: (f, a) => f.removeEntry(a, 'ann-1'),
  setEnabled: (f, a) => f.setEntryEnabled(a, 'ann-1', false),
  list: (f, a) => f.listEntries(a, 'ann'),
  beginGrant: (f, a) => f.beginGrant(a, { mailboxId: 'ann-gmail', domain: 'example.com' }),
  completeGrant: (f, a) => f.completeGrant(a, 'state:ann:ann-gmail'),
};
const editOps: Operation[] = ['add', 'update', 'remove', 'setEnabled'];

const actors: Record<'admin' | 'owner' | 'other', Actor> = {
  admin: { role: 'admin' },
  owner: { role: 'user', userId: 'ann' },
  other: { role: 'user', userId: 'eve' },
};

/** The expected outcome: 'ok' or the error code. */
function expected(actor: keyof typeof actors, op: Operation, f: Flags): string {
  // The grant completed was started by ann: an administrator's session may not complete it.
  if (actor === 'admin') return op === 'completeGrant' ? 'OAUTH_STATE_INVALID' : 'ok';
  // Another user passes their own switch check for completeGrant; the service then refuses a
  // state that was issued to someone else.
  if (actor === 'other') return op === 'completeGrant' && f.s1 ? 'OAUTH_STATE_INVALID' : 'PERMISSION_DENIED';
  const needed = f.s1 && f.u1 && (editOps.includes(op) ? f.u2 : true);
  return needed ? 'ok' : 'PERMISSION_DENIED';
}

const cases: [string, keyof typeof actors, Operation, Flags, string][] = [];
for (const s1 of [true, false])
  for (const u1 of [true, false])
    for (const u2 of [true, false])
      for (const actor of Object.keys(actors) as (keyof typeof actors)[])
        for (const op of Object.keys(operations) as Operation[]) {
          const f = { s1, u1, u2 };
          const outcome = expected(actor, op, f);
          cases.push([`${actor} ${op} S1=${+s1} U1=${+u1} U2=${+u2} → ${outcome}`, actor, op, f, outcome]);
        }

describe('permission matrix of the webmail-facing operations', () => {
  it.each(cases)('%s', async (_name, actor, op, flags, outcome) => {
    const { fetcher, directory } = world(flags);
    const before = await directory.getUser('ann');
    const attempt = operations[op](fetcher, actors[actor]);
    if (outcome === 'ok') {
      await attempt;
    } else {
      await expect(attempt).rejects.toMatchObject({ code: outcome });
      // A refused operation changed nothing.
      expect(await directory.getUser('ann')).toEqual(before);
    }
  });
});

describe('webmail-facing operations', () => {
  const admin: Actor = { role: 'admin' };
  const ann: Actor = { role: 'user', userId: 'ann' };
  const all = { s1: true, u1: true, u2: true };

  it('addEntry generates a stable UUID id and never returns the password', async () => {
    const { fetcher, directory } = world(all);
    const view = await fetcher.addEntry(ann, 'ann', {
      server: 'pop.new.example:995',
      username: 'n',
      password: 'p4ssw0rd!',
    });
    expect(view.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(view).not.toHaveProperty('password');
    expect(view).toMatchObject({
      userId: 'ann',
      hasPassword: true,
      leaveOnServer: false,
      status: { consecutiveFailures: 0 },
    });
    expect(JSON.stringify(view)).not.toContain('p4ssw0rd!');
    const updated = await fetcher.updateEntry(ann, view.id, { leaveOnServer: true });
    expect(updated.id).toBe(view.id);
    expect((await directory.getEntry(view.id))?.entry).toMatchObject({
      password: 'p4ssw0rd!',
      leaveOnServer: true,
    });
    const listed = await fetcher.listEntries(ann, 'ann');
    expect(listed.map((e) => e.id)).toContain(view.id);
    expect(JSON.stringify(listed)).not.toContain('secret-password');
  });

  it('addEntry validates and names the field; ids are unique across users', async () => {
    const { fetcher } = world(all);
    await expect(
      fetcher.addEntry(admin, 'ann', { server: 'bad host!', username: 'x', password: 'p' }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      context: { field: 'server' },
    });
    await expect(
      fetcher.addEntry(admin, 'ann', { server: 'pop.x.example', username: 'x' }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      context: { field: 'password' },
    });
    await expect(
      fetcher.addEntry(admin, 'ann', { id: 'eve-1', server: 'pop.x.example', username: 'x', password: 'p' }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID', context: { field: 'id' } });
    await expect(
      fetcher.addEntry(admin, 'nobody', { server: 'pop.x.example', username: 'x', password: 'p' }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('an OAuth entry needs the app configured (CONFIG_INVALID naming the field) and starts paused', async () => {
    const { fetcher } = world(all);
    await expect(
      fetcher.addEntry(admin, 'ann', {
        server: 'outlook.office365.com:995',
        username: 'ann@contoso.com',
        auth: 'oauth',
      }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      context: { field: 'auth', setting: 'oauth.microsoft' },
    });
    const view = await fetcher.addEntry(ann, 'ann', {
      server: 'pop.gmail.com:995',
      username: 'ann2@gmail.com',
      auth: 'oauth',
    });
    expect(view.status.needsPermission).toBe(true);
    expect(view.hasPassword).toBe(false);
  });

  it('updateEntry: the id cannot change; switching to OAuth drops the password; edits clear the back-off', async () => {
    const { fetcher, directory, ledger } = world(all);
    await expect(fetcher.updateEntry(ann, 'ann-1', { id: 'other' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      context: { field: 'id' },
    });
    await ledger.saveStatus({
      ...emptyMailboxStatus('ann-1'),
      consecutiveFailures: 3,
      nextAttemptAt: Date.now() + 3_600_000,
    });
    const view = await fetcher.updateEntry(ann, 'ann-1', { server: 'pop.gmail.com:995', auth: 'oauth' });
    expect(view.hasPassword).toBe(false);
    expect((await directory.getEntry('ann-1'))?.entry.password).toBeUndefined();
    expect(view.status).toMatchObject({ needsPermission: true, consecutiveFailures: 3 });
    expect(view.status.nextAttemptAt).toBeUndefined();
    await expect(fetcher.updateEntry(ann, 'nope', {})).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('changing the account of an OAuth entry deletes its tokens', async () => {
    const { fetcher, tokens } = world(all);
    await tokens.setTokens('ann-gmail', { accessToken: 'at', refreshToken: 'rt' });
    await fetcher.updateEntry(ann, 'ann-gmail', { leaveOnServer: true });
    expect(await tokens.getTokens('ann-gmail')).toBeDefined();
    await fetcher.updateEntry(ann, 'ann-gmail', { username: 'other@gmail.com' });
    expect(await tokens.getTokens('ann-gmail')).toBeUndefined();
  });

  it('removeEntry clears the ledger, the status and the tokens', async () => {
    const { fetcher, directory, ledger, tokens } = world(all);
    await ledger.apply('ann-gmail', [{ type: 'collected', uidl: 'u1', at: 1 }]);
    await ledger.saveStatus({ ...emptyMailboxStatus('ann-gmail'), totalMessages: 1 });
    await tokens.setTokens('ann-gmail', { accessToken: 'at', refreshToken: 'rt' });
    await fetcher.removeEntry(ann, 'ann-gmail');
    expect(await directory.getEntry('ann-gmail')).toBeUndefined();
    expect((await ledger.load('ann-gmail')).size).toBe(0);
    expect(await ledger.loadStatus('ann-gmail')).toBeUndefined();
    expect(await tokens.getTokens('ann-gmail')).toBeUndefined();
  });

  it('setEntryEnabled turns collection of the entry off and on', async () => {
    const { fetcher, sessions } = world(all);
    await fetcher.setEntryEnabled(ann, 'ann-1', false);
    expect((await fetcher.collectNow({ mailboxId: 'ann-1' }))[0]?.skipped).toBe('entry-disabled');
    await fetcher.setEntryEnabled(ann, 'ann-1', true);
    expect((await fetcher.collectNow({ mailboxId: 'ann-1' }))[0]?.ok).toBe(true);
    expect(sessions.callsFor('ann-1')).toHaveLength(1);
  });

  it('grants pass through with the entry’s owner; completing one clears needs-permission and back-off', async () => {
    const { fetcher, oauth, ledger } = world({ s1: true, u1: true, u2: false });
    await ledger.saveStatus({
      ...emptyMailboxStatus('ann-gmail'),
      needsPermission: true,
      nextAttemptAt: Date.now() + 99_999,
    });
    const started = await fetcher.beginGrant(ann, { mailboxId: 'ann-gmail', domain: 'example.com' });
    expect(started.url).toBe('https://accounts.example/auth?state=state:ann:ann-gmail');
    expect(oauth.begun).toEqual([
      {
        userId: 'ann',
        mailboxId: 'ann-gmail',
        domain: 'example.com',
        startedBy: { role: 'user', userId: 'ann' },
      },
    ]);
    await expect(
      fetcher.beginGrant(ann, { mailboxId: 'ann-1', domain: 'example.com' }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      context: { field: 'auth' },
    });
    expect(await fetcher.completeGrant(ann, 'state:ann:ann-gmail')).toEqual({
      userId: 'ann',
      mailboxId: 'ann-gmail',
    });
    const status = await ledger.loadStatus('ann-gmail');
    expect(status?.needsPermission).toBe(false);
    expect(status?.nextAttemptAt).toBeUndefined();
  });

  it('a grant an administrator starts for a user is bound to the administrator', async () => {
    const { fetcher, oauth } = world({ s1: true, u1: true, u2: false });
    const started = await fetcher.beginGrant(
      { role: 'admin' },
      { mailboxId: 'ann-gmail', domain: 'example.com' },
    );
    expect(oauth.begun).toEqual([
      { userId: 'ann', mailboxId: 'ann-gmail', domain: 'example.com', startedBy: { role: 'admin' } },
    ]);
    await expect(fetcher.completeGrant(ann, started.state)).rejects.toMatchObject({
      code: 'OAUTH_STATE_INVALID',
    });
    expect(await fetcher.completeGrant({ role: 'admin' }, started.state)).toMatchObject({
      mailboxId: 'ann-gmail',
    });
  });

  it('without an OAuth service, grants fail with OAUTH_NOT_CONFIGURED and OAuth entries fail to collect', async () => {
    const t = setup({
      settings: { oauth: { gmail: gmailApp } },
      users: [
        {
          id: 'ann',
          entries: [{ id: 'g', server: 'pop.gmail.com:995', username: 'a@gmail.com', auth: 'oauth' }],
        },
      ],
    });
    await expect(
      t.fetcher.beginGrant({ role: 'admin' }, { mailboxId: 'g', domain: 'example.com' }),
    ).rejects.toMatchObject({
      code: 'OAUTH_NOT_CONFIGURED',
    });
    const errors: CollectorEvents['mailbox:error'][] = [];
    t.fetcher.on('mailbox:error', (e) => errors.push(e));
    const [summary] = await t.fetcher.collectNow();
    expect(summary?.error?.code).toBe('OAUTH_NOT_CONFIGURED');
    expect(errors).toHaveLength(1);
    expect(t.sessions.calls).toHaveLength(0);
  });

  it('rejects a malformed actor', async () => {
    const { fetcher } = world(all);
    await expect(fetcher.listEntries({ role: 'user', userId: '' }, 'ann')).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
      context: { reason: 'invalid-actor' },
    });
    await expect(fetcher.listEntries({ role: 'root' } as unknown as Actor, 'ann')).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    });
  });
});
