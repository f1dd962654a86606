import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MultiPopError } from '../../src/errors/index.js';
import { entry, result, setup, sleep } from './support.js';

describe('stop()', () => {
  it('drops waiting sessions, lets the running one finish, persists its status, then resolves', async () => {
    const { fetcher, sessions, ledger } = setup(
      { users: [{ id: 'ann', entries: [entry('a'), entry('b'), entry('c')] }] },
      { concurrency: { global: 1, perHost: 1 } },
    );
    let sawAbort = false;
    sessions.when('*', async (options) => {
      // Like the real runner: finish the message in flight, then QUIT and return.
      await new Promise<void>((resolve) =>
        options.signal?.addEventListener('abort', () => resolve(), { once: true }),
      );
      sawAbort = options.signal?.aborted === true;
      await sleep(5);
      return result(1);
    });
    await fetcher.start();
    const cycle = fetcher.collectNow();
    await sessions.untilRunning(1);
    expect(sessions.running).toBe(1);

    await fetcher.stop();
    expect(sessions.running).toBe(0);
    expect(sawAbort).toBe(true);
    expect(fetcher.state).toBe('stopped');
    const summaries = await cycle;
    expect(summaries.map((s) => (s.ok ? 'ok' : s.skipped))).toEqual(['ok', 'stopping', 'stopping']);
    expect(sessions.calls).toHaveLength(1);
    expect(await ledger.loadStatus('a')).toMatchObject({ totalSessions: 1, totalMessages: 1 });
    expect(await ledger.loadStatus('b')).toBeUndefined();
  });

  it('after stop: collectNow rejects with ABORTED, triggers do nothing; start() resumes', async () => {
    const { fetcher, sessions } = setup({
      settings: { schedule: { mode: 'remote-cycle' } },
      users: [{ id: 'ann', entries: [entry('a')] }],
    });
    await fetcher.start();
    await fetcher.stop();
    await expect(fetcher.collectNow()).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await fetcher.onRemoteMailProcessed()).toEqual([]);
    expect(sessions.calls).toHaveLength(0);
    await fetcher.start();
    expect((await fetcher.onRemoteMailProcessed())[0]?.ok).toBe(true);
    await fetcher.stop();
  });

  it('a session stopped before it began (ABORTED) counts as no failure', async () => {
    const { fetcher, sessions, ledger } = setup({ users: [{ id: 'ann', entries: [entry('a')] }] });
    const errors: unknown[] = [];
    fetcher.on('mailbox:error', (e) => errors.push(e));
    sessions.when('a', () => {
      throw new MultiPopError('ABORTED', 'stopped before it began');
    });
    const [summary] = await fetcher.collectNow();
    expect(summary).toMatchObject({ ok: false, skipped: 'stopping', error: { code: 'ABORTED' } });
    expect(errors).toHaveLength(0);
    expect(await ledger.loadStatus('a')).toBeUndefined();
  });

  it('stop({ signal }) stops waiting when the signal aborts; the session winds down later', async () => {
    const { fetcher, sessions } = setup({ users: [{ id: 'ann', entries: [entry('a')] }] });
    let release!: () => void;
    sessions.when('a', () => new Promise((resolve) => (release = () => resolve(result(0)))));
    const cycle = fetcher.collectNow();
    await sessions.untilRunning(1);
    const deadline = new AbortController();
    const stopping = fetcher.stop({ signal: deadline.signal });
    deadline.abort();
    await expect(stopping).rejects.toMatchObject({ code: 'ABORTED' });
    expect(fetcher.state).toBe('stopped');
    release();
    expect((await cycle)[0]?.ok).toBe(true);
  });

  it.each([
    ['stop', /^stopped stopped true$/m],
    ['no-stop', /^done started true$/m],
  ])('leaves nothing that keeps the process alive (%s)', async (mode, output) => {
    const script = fileURLToPath(new URL('./fixtures/start-stop.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = await new Promise<number | 'timeout'>((resolve) => {
      // Generous: tsx compiles on start. A leaked interval timer (1 minute) would exceed it.
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('timeout');
      }, 20_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code ?? -1);
      });
    });
    expect({ exit, stderr }).toEqual({ exit: 0, stderr: '' });
    expect(stdout).toMatch(output);
  });
});
