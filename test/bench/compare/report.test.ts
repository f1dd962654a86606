import { describe, expect, it } from 'vitest';
import type { ContenderId } from '../../../bench/compare/contenders.js';
import { median, scenarioMarkdown, summarize, targets } from '../../../bench/compare/report.js';
import type { RunResult, ScenarioResult } from '../../../bench/compare/runner.js';
import { scenarios } from '../../../bench/compare/scenarios.js';
import type { Verdict } from '../../../bench/compare/verify.js';

const verdict = (over: Partial<Verdict> = {}): Verdict => ({
  expected: 2000,
  exact: 2000,
  lf: 0,
  altered: 0,
  lost: 0,
  notCollected: 0,
  duplicated: 0,
  refetched: 0,
  addedHeaders: [],
  alterations: {},
  ...over,
});

const run = (wallMs: number, ok = true, v: Verdict | undefined = verdict()): RunResult => ({
  measurement: {
    ok,
    exitCode: ok ? 0 : 1,
    timedOut: false,
    wallMs,
    cpuMs: wallMs / 2,
    peakRssKb: 60_000,
    outputTail: ok ? '' : 'boom',
  },
  ...(v ? { verdict: v } : {}),
});

function s1(results: Array<[ContenderId, RunResult[]]>): ScenarioResult {
  const scenario = scenarios(false).find((s) => s.id === 'S1');
  if (!scenario) throw new Error('no S1');
  return {
    scenario,
    messages: 2000,
    bytes: 35e6,
    results: results.map(([id, runs]) => ({ id, label: id, runs })),
  };
}

describe('benchmark report', () => {
  it('takes medians of clean runs and the worst correctness of all runs', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const s = summarize({
      id: 'raw',
      label: 'raw',
      runs: [run(500), run(700), run(9_000, false, verdict({ exact: 1990, notCollected: 10 }))],
    });
    expect(s).toMatchObject({ runs: 3, failed: 1, wallMs: 600, failure: 'exit 1: boom' });
    expect(s.verdict?.notCollected).toBe(10);
  });

  it('checks the S1 targets as ratios within the run', () => {
    const met = targets(
      s1([
        ['multipop', [run(1_000)]],
        ['raw-durable', [run(800)]],
        ['fetchmail-sink', [run(1_200, true, undefined)]],
      ]),
    );
    expect(met.map((t) => t.met)).toEqual([true, true, true]);
    const missed = targets(
      s1([
        ['multipop', [run(1_300, true, verdict({ exact: 1999, altered: 1 }))]],
        ['raw-durable', [run(800)]],
        ['fetchmail-sink', [run(1_200, true, undefined)]],
      ]),
    );
    expect(missed.map((t) => t.met)).toEqual([false, false, false]);
  });

  it('counts a failed multipop run as a missed target, not as unmeasured', () => {
    const checks = targets(
      s1([
        ['multipop', [run(1_000), run(1_000, false)]],
        ['raw-durable', [run(800)]],
      ]),
    );
    expect(checks[0]).toMatchObject({ met: false });
    expect(checks[0]?.detail).toMatch(/did not finish/);
  });

  it('prints a markdown table with a row per contender and the targets', () => {
    const text = scenarioMarkdown(
      s1([
        ['multipop', [run(2_000)]],
        ['raw-durable', [run(1_000)]],
        [
          'node-pop3',
          [
            run(
              1_500,
              true,
              verdict({ exact: 0, altered: 2000, alterations: { 'dot-stuffing left in': 2000 } }),
            ),
          ],
        ],
      ]),
    );
    expect(text).toMatch(/^### S1 /);
    expect(text).toContain('| multipop | 1 | 2.00 s |');
    expect(text).toContain('| raw-durable | 1 | 1.00 s |');
    expect(text).toContain('**0/2,000 exact; 2,000 altered**');
    expect(text).toContain(
      '❌ **missed** — within 1.5× of the durable raw client: 2.00× of the durable raw client',
    );
  });

  it('uses the CLI run as multipop when there is one, and checks S6 growth per mailbox', () => {
    const s6 = scenarios(false).find((s) => s.id === 'S6')!;
    const at = (mailboxes: number, wallMs: number): ScenarioResult => ({
      scenario: { ...s6, mailboxes },
      messages: mailboxes * 5,
      bytes: mailboxes * 5e3,
      results: [
        {
          id: 'multipop-cli',
          label: 'cli',
          runs: [run(wallMs, true, verdict({ expected: mailboxes * 5, exact: mailboxes * 5 }))],
        },
        { id: 'raw', label: 'raw', runs: [run(wallMs / 2)] },
      ],
    });
    const smaller = { ...at(100, 4_000), growthStep: true };
    expect(targets(smaller)).toEqual([]);
    const [growth] = targets({ ...at(1_000, 44_000), growthBase: smaller });
    expect(growth).toMatchObject({ met: true });
    const [slower] = targets({ ...at(1_000, 52_000), growthBase: smaller });
    expect(slower).toMatchObject({ met: false });
  });
});
