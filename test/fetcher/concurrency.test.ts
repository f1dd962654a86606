import { describe, expect, it } from 'vitest';
import { MailboxLocks, SessionSlots } from '../../src/fetcher/concurrency.js';
import { drainMicrotasks, entry, result, setup, sleep } from './support.js';

/** `count` entries spread round-robin over `hosts` hosts, one user each. */
function manyUsers(count: number, hosts: string[]) {
  return Array.from({ length: count }, (_, i) => ({
    id: `user-${i}`,
    entries: [entry(`m-${i}`, hosts[i % hosts.length])],
  }));
}

describe('concurrency', () => {
  it('never exceeds the global limit, and reaches it', async () => {
    const hosts = Array.from({ length: 10 }, (_, i) => `pop${i}.example.com`);
    const { fetcher, sessions } = setup(
      { users: manyUsers(30, hosts) },
      { concurrency: { global: 4, perHost: 5 } },
    );
    // Each session ends only once four run at once (or once the last ones have started): if the
    // limit were lower than four, the cycle would hang; if higher, maxRunning would show it.
    sessions.when('*', async () => {
      await Promise.race([sessions.untilRunning(4), sessions.untilCalls(30)]);
      return result(1);
    });
    const summaries = await fetcher.collectNow();
    expect(summaries.filter((s) => s.ok)).toHaveLength(30);
    expect(sessions.maxRunning).toBe(4);
  });

  it('never exceeds the per-host limit; other hosts still use the free global slots', async () => {
    const { fetcher, sessions } = setup(
      {
        users: [
          ...manyUsers(12, ['busy.example.com']),
          { id: 'other', entries: [entry('x-1', 'quiet.example.com')] },
        ],
      },
      { concurrency: { global: 8, perHost: 2 } },
    );
    let busyDone = 0;
    let busyDoneWhenQuietStarted = -1;
    let quietStarted!: () => void;
    const quiet = new Promise<void>((resolve) => (quietStarted = resolve));
    // The busy host's sessions end only after the quiet host's one has started: behind the busy
    // host's backlog it never would, and the cycle would hang.
    sessions.when('*', async () => {
      await quiet;
      busyDone++;
      return result(1);
    });
    sessions.when('x-1', async () => {
      busyDoneWhenQuietStarted = busyDone;
      quietStarted();
      return result(1);
    });
    const summaries = await fetcher.collectNow();
    expect(summaries.filter((s) => s.ok)).toHaveLength(13);
    expect(sessions.maxPerHost.get('busy.example.com')).toBe(2);
    // The quiet host's session started at once, not behind the busy host's backlog.
    expect(busyDoneWhenQuietStarted).toBe(0);
  });

  it('never runs two sessions on one mailbox: a second request joins the running one', async () => {
    const { fetcher, sessions, ledger } = setup({ users: [{ id: 'ann', entries: [entry('ann-1')] }] });
    let release!: () => void;
    sessions.when('ann-1', () => new Promise((resolve) => (release = () => resolve(result(3)))));
    // A request joins right after it has read the entry's status: count those reads.
    let statusReads = 0;
    let thirdRead!: () => void;
    const readThrice = new Promise<void>((resolve) => (thirdRead = resolve));
    const loadStatus = ledger.loadStatus.bind(ledger);
    ledger.loadStatus = async (mailboxId) => {
      const status = await loadStatus(mailboxId);
      if (++statusReads === 3) thirdRead();
      return status;
    };
    const first = fetcher.collectNow();
    await sessions.untilRunning(1);
    const second = fetcher.collectNow({ mailboxId: 'ann-1' });
    const third = fetcher.collectNow({ userId: 'ann' });
    await readThrice;
    await drainMicrotasks();
    release();
    const [a, b, c] = await Promise.all([first, second, third]);
    expect(sessions.calls).toHaveLength(1);
    expect(sessions.maxPerMailbox.get('ann-1')).toBe(1);
    expect(a?.[0]).toMatchObject({ ok: true, result: { collected: 3 } });
    expect(a?.[0]?.joined).toBeUndefined();
    expect(b?.[0]).toMatchObject({ ok: true, joined: true, result: { collected: 3 } });
    expect(c?.[0]).toMatchObject({ ok: true, joined: true });
  });

  it('two entries on the same remote maildrop run one after the other', async () => {
    const shared = { server: 'pop.shared.example:995', username: 'team', password: 'pw-team-1' };
    const { fetcher, sessions } = setup(
      {
        users: [
          { id: 'ann', entries: [{ id: 'ann-team', ...shared }] },
          { id: 'bob', entries: [{ id: 'bob-team', ...shared }] },
        ],
      },
      { concurrency: { global: 8, perHost: 8 } },
    );
    sessions.when('*', async () => {
      await sleep(5);
      return result(1);
    });
    const summaries = await fetcher.collectNow();
    expect(summaries.map((s) => s.ok)).toEqual([true, true]);
    expect(sessions.maxRunning).toBe(1);
  });

  it('SessionSlots drops a host queue when it is idle', async () => {
    const slots = new SessionSlots({ global: 2, perHost: 1 });
    const done = Promise.all([
      slots.run('A.example', async () => sleep(2)),
      slots.run('b.example', async () => sleep(2)),
    ]);
    expect(slots.activeHosts).toBe(2);
    await done;
    // The host queues' 'idle' events follow the tasks' ends in the same turn of the event loop.
    await drainMicrotasks();
    expect(slots.activeHosts).toBe(0);
  });

  it('MailboxLocks: joins the same entry, queues a different entry on the same key', async () => {
    const locks = new MailboxLocks<string>();
    const order: string[] = [];
    const task = (name: string) => async () => {
      order.push(`start ${name}`);
      await sleep(2);
      order.push(`end ${name}`);
      return name;
    };
    const a = locks.run('k', 'a', task('a'));
    const a2 = locks.run('k', 'a', task('a2'));
    const b = locks.run('k', 'b', task('b'));
    expect([a.joined, a2.joined, b.joined]).toEqual([false, true, false]);
    expect(await Promise.all([a.promise, a2.promise, b.promise])).toEqual(['a', 'a', 'b']);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b']);
    expect(locks.all()).toHaveLength(0);
  });
});
