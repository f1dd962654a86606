/**
 * The story docs/failure-walkthrough.md tells, run for real against the fake POP3 server: a
 * wrong password, the error and its context, the events, the status, back-off, the edit that
 * clears it, and mailbox:recovered.
 */
import { MultiPopFetcher, parseConfig } from 'multipop';
import { fakeClock, memoryDirectory, memoryLedger, memoryQueue, startFakePop3Server } from 'multipop/testing';
import { expect, it } from 'vitest';

it('a wrong password: error, events, status, back-off, the edit that clears it, recovery', async () => {
  const server = await startFakePop3Server({
    users: [{ name: 'ann', password: 'right', messages: [Buffer.from('Subject: hi\r\n\r\nhello\r\n')] }],
  });
  const clock = fakeClock(Date.UTC(2026, 0, 1));
  const entry = {
    id: 'ann-gmx',
    server: `${server.host}:${server.port}`,
    tls: 'none' as const,
    username: 'ann',
    password: 'wrong',
  };
  const fetcher = new MultiPopFetcher({
    directory: memoryDirectory(parseConfig({ users: [{ id: 'ann@example.com', entries: [entry] }] })),
    ledger: memoryLedger(),
    queue: memoryQueue(),
    now: clock.now,
  });
  const events: string[] = [];
  for (const name of ['session:start', 'session:end', 'mailbox:error', 'mailbox:recovered'] as const)
    fetcher.on(name, () => events.push(name));
  try {
    const [first] = await fetcher.collectNow();
    expect(first?.ok).toBe(false);
    expect(first?.error?.code).toBe('AUTH_FAILED');
    expect(first?.error?.context.mailboxId).toBe('ann-gmx');
    expect(first?.error?.message).not.toContain('wrong');
    expect(events).toEqual(['session:start', 'session:end', 'mailbox:error']);

    const status = await fetcher.statistics('ann-gmx');
    expect(status).toMatchObject({
      consecutiveFailures: 1,
      lastErrorCode: 'AUTH_FAILED',
      totalSessions: 1,
      totalMessages: 0,
    });
    const wait = (status as { nextAttemptAt: number }).nextAttemptAt - clock.now();
    expect(wait).toBeGreaterThanOrEqual(30_000);
    expect(wait).toBeLessThanOrEqual(60_000);

    // Still backing off: the next cycle skips it.
    expect((await fetcher.collectNow())[0]?.skipped).toBe('backoff');
    // The second failure waits longer (1–2 min).
    clock.advance(wait);
    await fetcher.collectNow();
    const second = (await fetcher.statistics('ann-gmx')) as {
      consecutiveFailures: number;
      nextAttemptAt: number;
    };
    expect(second.consecutiveFailures).toBe(2);
    expect(second.nextAttemptAt - clock.now()).toBeGreaterThanOrEqual(60_000);

    // The fix: editing the entry clears the back-off, the next cycle collects and recovers.
    await fetcher.updateEntry({ role: 'admin' }, 'ann-gmx', { password: 'right' });
    events.length = 0;
    const [fixed] = await fetcher.collectNow();
    expect(fixed?.ok).toBe(true);
    expect(fixed?.result?.collected).toBe(1);
    expect(events).toEqual(['session:start', 'session:end', 'mailbox:recovered']);
    const recovered = await fetcher.statistics('ann-gmx');
    expect(recovered).toMatchObject({
      consecutiveFailures: 0,
      lastErrorCode: 'AUTH_FAILED',
      totalMessages: 1,
    });
    expect((recovered as { lastSuccessAt?: number }).lastSuccessAt).toBeDefined();
  } finally {
    await fetcher.stop();
    await server.close();
  }
});
