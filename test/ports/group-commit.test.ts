import { describe, expect, it } from 'vitest';
import { keyedSerial } from '../../src/ports/group-commit.js';
import { groupCommit, keyedGroupCommit } from '../../src/ports/index.js';

/** A flush whose runs the test finishes by hand, recording when each began. */
function manualFlush() {
  const runs: { finish: () => void; fail: (err: Error) => void }[] = [];
  const flush = () =>
    new Promise<void>((resolve, reject) => {
      runs.push({ finish: resolve, fail: reject });
    });
  return { flush, runs };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('groupCommit', () => {
  it('runs once for every caller that arrived during the previous run', async () => {
    const { flush, runs } = manualFlush();
    const request = groupCommit(flush);
    const done: number[] = [];
    const first = request().then(() => done.push(1));
    await tick();
    expect(runs).toHaveLength(1);
    // Three callers while the first run is in progress: they share the next run.
    const later = [2, 3, 4].map((n) => request().then(() => done.push(n)));
    await tick();
    expect(runs).toHaveLength(1);
    runs[0]!.finish();
    await first;
    await tick();
    expect(done).toEqual([1]);
    expect(runs).toHaveLength(2);
    runs[1]!.finish();
    await Promise.all(later);
    expect(done).toEqual([1, 2, 3, 4]);
    expect(runs).toHaveLength(2);
  });

  it('never lets a caller share a run that began before it called', async () => {
    const { flush, runs } = manualFlush();
    const request = groupCommit(flush);
    void request();
    await tick();
    let settled = false;
    const late = request().then(() => {
      settled = true;
    });
    runs[0]!.finish();
    await tick();
    expect(settled).toBe(false);
    runs[1]!.finish();
    await late;
    expect(settled).toBe(true);
  });

  it('a failed run rejects its own callers only', async () => {
    const { flush, runs } = manualFlush();
    const request = groupCommit(flush);
    const first = request();
    await tick();
    const second = request();
    runs[0]!.fail(new Error('EIO'));
    await expect(first).rejects.toThrow('EIO');
    await tick();
    runs[1]!.finish();
    await expect(second).resolves.toBeUndefined();
  });

  it('keyed: one run per key at a time, separate keys independent, idle keys forgotten', async () => {
    const begun: string[] = [];
    const syncs = keyedGroupCommit(async (key) => {
      begun.push(key);
    });
    await Promise.all([syncs('a'), syncs('a'), syncs('a'), syncs('b')]);
    // a: the first call's run, then one shared run for the two that came during it; b: one.
    expect(begun.filter((k) => k === 'a')).toHaveLength(2);
    expect(begun.filter((k) => k === 'b')).toHaveLength(1);
    await syncs('a');
    expect(begun.filter((k) => k === 'a')).toHaveLength(3);
  });
});

describe('keyedSerial', () => {
  it('runs one key one call after another, other keys beside, and survives a failure', async () => {
    const serial = keyedSerial();
    const log: string[] = [];
    let releaseFirst!: () => void;
    const first = serial('ann', async () => {
      log.push('ann-1 start');
      await new Promise<void>((resolve) => {
        releaseFirst = resolve;
      });
      log.push('ann-1 end');
      throw new Error('first failed');
    });
    const second = serial('ann', async () => {
      log.push('ann-2 start');
      return 2;
    });
    const other = serial('bob', async () => {
      log.push('bob start');
      return 'b';
    });
    expect(await other).toBe('b');
    expect(log).toEqual(['ann-1 start', 'bob start']);
    releaseFirst();
    await expect(first).rejects.toThrow('first failed');
    expect(await second).toBe(2);
    expect(log).toEqual(['ann-1 start', 'bob start', 'ann-1 end', 'ann-2 start']);
  });
});
