/**
 * Turns measured runs into the markdown of docs/performance.md: per scenario a table of
 * medians (wall, CPU, peak RSS), rates, the ratio to multipop, the correctness column, and the
 * issue #7 targets checked against the figures of the same run.
 */
import type { ContenderId } from './contenders.js';
import type { ContenderResult, ScenarioResult } from './runner.js';
import type { Verdict } from './verify.js';

/** Medians of a contender's successful runs. */
export interface Summary {
  id: ContenderId;
  label: string;
  runs: number;
  failed: number;
  failure?: string;
  wallMs: number;
  cpuMs: number;
  peakRssKb: number;
  verdict?: Verdict;
}

/**
 * The median of some numbers (NaN for none).
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Medians over the successful runs; the correctness of the worst run.
 *
 * @example
 * ```ts
 * const s = summarize(result.results[0]);
 * ```
 */
export function summarize(result: ContenderResult): Summary {
  const good = result.runs.filter((r) => r.measurement.ok);
  const bad = result.runs.filter((r) => !r.measurement.ok);
  const worst = [...result.runs]
    .filter((r) => r.verdict)
    .sort((a, b) => badness(b.verdict as Verdict) - badness(a.verdict as Verdict))[0]?.verdict;
  const first = bad[0]?.measurement;
  const primeFailed = result.runs.length === 0 && result.prime?.run && !result.prime.run.measurement.ok;
  const failure = primeFailed
    ? 'not measured: its first full run failed'
    : first
      ? first.timedOut
        ? 'timed out'
        : `exit ${first.exitCode}: ${first.outputTail}`
      : undefined;
  return {
    id: result.id,
    label: result.label,
    runs: result.runs.length,
    failed: bad.length,
    ...(failure ? { failure } : {}),
    wallMs: median(good.map((r) => r.measurement.wallMs)),
    cpuMs: median(good.map((r) => r.measurement.cpuMs)),
    peakRssKb: median(good.map((r) => r.measurement.peakRssKb)),
    ...(worst ? { verdict: worst } : {}),
  };
}

function badness(v: Verdict): number {
  return v.lost + v.duplicated + v.altered + v.notCollected + v.refetched;
}

/** One target of issue #7, checked. */
export interface TargetCheck {
  text: string;
  /** Undefined when a figure it needs is missing. */
  met: boolean | undefined;
  detail: string;
}

/**
 * The targets of issue #7 for one scenario, as ratios within this run.
 *
 * @example
 * ```ts
 * for (const t of targets(result)) console.log(t.met, t.text, t.detail);
 * ```
 */
export function targets(result: ScenarioResult): TargetCheck[] {
  const by = new Map(result.results.map((r) => [r.id, summarize(r)]));
  if (result.growthStep) return [];
  // The median of a peer's clean runs; multipop must have no failed run at all.
  const wall = (id: ContenderId) => by.get(id)?.wallMs ?? Number.NaN;
  const multipopId = multipopBase(by);
  const mpSummary = by.get(multipopId);
  const mpFailed = mpSummary !== undefined && (mpSummary.failed > 0 || mpSummary.runs === 0);
  const mp = mpFailed ? Number.NaN : wall(multipopId);
  const failedCheck = (text: string): TargetCheck => ({
    text,
    met: false,
    detail: `multipop did not finish every run cleanly (${mpSummary?.failure ?? 'failed'})`,
  });
  const within = (id: ContenderId, factor: number, label: string): TargetCheck => {
    const text = `within ${factor}× of ${label}`;
    if (mpFailed) return failedCheck(text);
    const ratio = mp / wall(id);
    return check(text, ratio <= factor, ratio, `${fmtRatio(ratio)} of ${label}`);
  };
  const faster = (id: ContenderId, factor: number, label: string): TargetCheck => {
    const text = factor === 1 ? `faster than ${label}` : `≥ ${factor}× faster than ${label}`;
    if (mpFailed) return failedCheck(text);
    const ratio = wall(id) / mp;
    return check(
      text,
      factor === 1 ? ratio > 1 : ratio >= factor,
      ratio,
      `${label} takes ${fmtRatio(ratio)} multipop's time`,
    );
  };
  const correct: TargetCheck = (() => {
    const v = by.get(multipopId)?.verdict;
    if (!v) return { text: 'every message delivered once, unaltered', met: undefined, detail: 'no figures' };
    const ok = badness(v) === 0 && v.exact + v.lf === v.expected;
    return { text: 'every message delivered once, unaltered', met: ok, detail: correctness(v) };
  })();
  switch (result.scenario.id) {
    case 'S1':
      return [
        within('raw-durable', 1.5, 'the durable raw client'),
        faster('fetchmail-sink', 1, 'fetchmail → sink'),
        correct,
      ];
    case 'S2': {
      const rss = by.get(multipopId)?.peakRssKb ?? Number.NaN;
      return [
        within('raw', 1.2, 'the raw client'),
        check('peak RSS under 80 MB', rss < 80 * 1024, rss, `${fmtMb(rss)}`),
        correct,
      ];
    }
    case 'S3':
      return [within('fetchmail-mda', 2, 'fetchmail → LDA'), correct];
    case 'S4': {
      // Round trips estimated as wall time over the round-trip time the proxy adds.
      const rtt = 2 * (result.scenario.latencyMs ?? Number.NaN);
      const trips = (id: ContenderId) => Math.round(wall(id) / rtt);
      const w = within('raw', 1.3, 'the raw client');
      return [
        {
          ...w,
          text: `${w.text} in wall time and round trips`,
          detail: `${w.detail}; ≈ ${trips(multipopId)} round trips against ≈ ${trips('raw')} (wall ÷ ${rtt} ms)`,
        },
        correct,
      ];
    }
    case 'S5':
      return [within('raw', 1.5, 'the raw client'), correct];
    case 'S6': {
      const smaller = result.growthBase;
      const base = smaller
        ? summarize(
            smaller.results.find((r) => r.id === multipopId) ?? { id: multipopId, label: '', runs: [] },
          )
        : undefined;
      const perNow = mp / result.scenario.mailboxes;
      const perBefore = (base?.wallMs ?? Number.NaN) / (smaller?.scenario.mailboxes ?? Number.NaN);
      const growth = perNow / perBefore;
      return [
        mpFailed
          ? failedCheck('cost per mailbox within 1.2× from the smaller run')
          : check(
              `cost per mailbox within 1.2× from ${smaller?.scenario.mailboxes ?? '?'} to ${result.scenario.mailboxes} mailboxes`,
              growth <= 1.2,
              growth,
              `${fmtNum(perBefore, 1)} ms → ${fmtNum(perNow, 1)} ms per mailbox (${fmtRatio(growth)}); peak RSS ${fmtMb(base?.peakRssKb ?? Number.NaN)} → ${fmtMb(mpSummary?.peakRssKb ?? Number.NaN)}`,
            ),
        correct,
      ];
    }
  }
}

/** The multipop figure the targets use: the CLI as admins run it, else the single-mailbox command. */
function multipopBase(by: Map<ContenderId, unknown>): ContenderId {
  if (by.has('multipop-cli')) return 'multipop-cli';
  return by.has('multipop') ? 'multipop' : 'multipop-par';
}

function check(text: string, met: boolean, value: number, detail: string): TargetCheck {
  return {
    text,
    met: Number.isNaN(value) ? undefined : met,
    detail: Number.isNaN(value) ? 'no figures' : detail,
  };
}

/**
 * The markdown section for one scenario.
 *
 * @example
 * ```ts
 * process.stdout.write(scenarioMarkdown(result));
 * ```
 */
export function scenarioMarkdown(result: ScenarioResult): string {
  const s = result.scenario;
  const summaries = result.results.map(summarize);
  const baseId = multipopBase(new Map(summaries.map((x) => [x.id, x])));
  const base = summaries.find((x) => x.id === baseId);
  const mb = result.bytes / 1e6;
  const shape =
    s.mailboxes > 1
      ? `${s.mailboxes} mailboxes × ${s.messages} messages (${fmtNum(mb, 1)} MB)`
      : s.backlog
        ? `${fmtInt(s.backlog.messages)} messages left on the server, ${s.messages} new (${fmtNum(mb, 2)} MB)`
        : `${fmtInt(result.messages)} message${result.messages === 1 ? '' : 's'} (${fmtNum(mb, 1)} MB)`;
  const lines = [
    `### ${s.id}${result.growthStep ? ` (${s.mailboxes} mailboxes, for the growth)` : ''} — ${s.title}: ${shape}`,
    '',
    `| contender | runs | wall (median) | CPU user+sys | peak RSS | msg/s | MB/s | × multipop | correctness (worst run) |`,
    '|---|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const x of summaries) {
    const ok = !Number.isNaN(x.wallMs);
    const seconds = x.wallMs / 1000;
    const ratio = base && ok && !Number.isNaN(base.wallMs) ? x.wallMs / base.wallMs : Number.NaN;
    const failed = x.failed > 0 ? ` (${x.failed} failed)` : '';
    lines.push(
      `| ${x.label} | ${x.runs}${failed} | ${ok ? `${fmtNum(seconds, 2)} s` : `— (${x.failure ?? 'failed'})`} | ${ok ? `${fmtNum(x.cpuMs / 1000, 2)} s` : '—'} | ${ok ? fmtMb(x.peakRssKb) : '—'} | ${ok ? fmtRate(result.messages / seconds) : '—'} | ${ok ? fmtNum(mb / seconds, 1) : '—'} | ${Number.isNaN(ratio) ? '—' : `${fmtNum(ratio, 2)}`} | ${x.verdict ? correctness(x.verdict) : x.id === 'fetchmail-sink' ? 'n/a (discards mail)' : '—'} |`,
    );
  }
  const primed = result.results.filter((r) => r.prime);
  if (primed.length > 0) {
    lines.push('', 'Priming (the full first run that records the backlog in each contender’s state):', '');
    for (const r of primed) {
      const prime = r.prime as NonNullable<ContenderResult['prime']>;
      const m = prime.run?.measurement;
      if (!m) {
        lines.push(
          `- ${r.label}: its state file written from the server's UIDL list (a full run would not fit the time box)`,
        );
        continue;
      }
      const how = prime.by === r.id ? '' : ` (state copied from ${prime.by}'s run: same state file)`;
      const v = prime.run?.verdict ? `, ${correctness(prime.run.verdict)}` : '';
      const figures = m.ok
        ? `${fmtNum(m.wallMs / 1000, 2)} s, ${fmtMb(m.peakRssKb)}${v}`
        : m.timedOut
          ? 'timed out'
          : `failed (exit ${m.exitCode}: ${m.outputTail})`;
      lines.push(`- ${r.label}${how}: ${figures}`);
    }
  }
  const checks = targets(result);
  if (checks.length > 0) {
    lines.push('', 'Targets (issue #11), multipop against the others in this run:', '');
    for (const t of checks) {
      const mark = t.met === undefined ? '⚪ not measured' : t.met ? '✅ met' : '❌ **missed**';
      lines.push(`- ${mark} — ${t.text}: ${t.detail}`);
    }
  }
  const notes = summaries.filter((x) => x.verdict?.example || x.verdict?.addedHeaders.length);
  if (notes.length > 0) {
    lines.push('', 'What each tool did to the mail:', '');
    for (const x of notes) {
      const v = x.verdict as Verdict;
      const added = v.addedHeaders.length ? `adds ${v.addedHeaders.join(', ')}` : 'adds no header';
      const kinds = Object.entries(v.alterations)
        .sort((a, b) => b[1] - a[1])
        .map(([kind, n]) => `${kind} ${fmtInt(n)}`)
        .join(', ');
      const altered = v.example
        ? `; altered (first difference per message): ${kinds}; e.g. ${v.example}`
        : '';
      lines.push(`- ${x.label}: ${added}${altered}`);
    }
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * "2000/2000 exact", "2000/2000 exact (LF line ends)", or the counts of what went wrong.
 *
 * @example
 * ```ts
 * correctness({ expected: 2, exact: 2, lf: 0, altered: 0, lost: 0, notCollected: 0, duplicated: 0, refetched: 0, addedHeaders: [], alterations: {} });
 * ```
 */
export function correctness(v: Verdict): string {
  const good = v.exact + v.lf;
  const problems = [
    v.altered ? `${fmtInt(v.altered)} altered` : '',
    v.lost ? `${fmtInt(v.lost)} lost` : '',
    v.duplicated ? `${fmtInt(v.duplicated)} duplicated` : '',
    v.notCollected ? `${fmtInt(v.notCollected)} not collected` : '',
    v.refetched ? `${fmtInt(v.refetched)} old ones fetched again` : '',
  ].filter(Boolean);
  const form =
    v.lf === 0
      ? 'exact'
      : v.exact === 0
        ? 'exact but LF line ends'
        : `${v.exact} exact, ${v.lf} LF line ends`;
  const head = `${fmtInt(good)}/${fmtInt(v.expected)} ${form}`;
  return problems.length ? `**${head}; ${problems.join(', ')}**` : `${head}`;
}

function fmtNum(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

function fmtInt(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—';
}

/** Whole numbers, but one decimal below 10 (one 100 MB message is 0.5 msg/s, not 0). */
function fmtRate(value: number): string {
  return value < 10 ? fmtNum(value, 1) : fmtInt(value);
}

function fmtMb(kb: number): string {
  return Number.isFinite(kb) ? `${Math.round(kb / 1024)} MB` : '—';
}

function fmtRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '—';
}
