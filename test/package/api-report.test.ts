/**
 * The public surface changes only on purpose: the committed API report (api/*.api.md) must be
 * what scripts/api-report.ts builds from the source today. When you add, remove or change an
 * export, run `npm run api:report` and commit the diff of api/ with the change. The same walk
 * checks that every exported name has TSDoc and every exported value an `@example`.
 */
import { describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { API_ENTRY_POINTS, buildApiReports, committedReport } from '../../scripts/api-report.js';

describe('API report', () => {
  // One TypeScript program over all entry points (declarations emitted in memory): a few seconds.
  const reports = buildApiReports();

  it('covers every entry point of the package exports map', () => {
    const subpaths = Object.keys(packageJson.exports)
      .filter((key) => key !== './package.json')
      .map((key) => (key === '.' ? 'multipop' : `multipop/${key.slice(2)}`));
    expect(API_ENTRY_POINTS.map((e) => e.module).sort()).toEqual(subpaths.sort());
  });

  it.each(reports.map((r) => [r.module, r] as const))(
    '%s matches the committed report (npm run api:report regenerates it)',
    (_module, report) => {
      expect(report.text, `${report.report} is out of date: run npm run api:report`).toBe(
        committedReport(report.report),
      );
    },
  );

  it.each(reports.map((r) => [r.module, r] as const))(
    '%s documents every export (TSDoc; an @example for each value)',
    (_module, report) => {
      expect(report.undocumented).toEqual([]);
    },
  );
});
