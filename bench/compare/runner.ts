/**
 * Runs one scenario for every contender: puts the seeded mail on the server, starts the
 * contender as a whole process with fresh directories, measures it, checks its Maildir.
 * Repetitions are interleaved (round 1 of every contender, then round 2…) so a slow phase of
 * the machine does not land on one contender only.
 */
import { chown, cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Contender, ContenderId } from './contenders.js';
import { type BenchServer, passwordOf } from './dovecot.js';
import { startLatencyProxy } from './latency-proxy.js';
import { type Measurement, measure } from './measure.js';
import { generateMessages } from './messages.js';
import { repsOf, type Scenario, timeoutOf } from './scenarios.js';
import { listUidls } from './uidl-list.js';
import { type ExpectedMessages, expectedById, sumVerdicts, type Verdict, verifyMaildir } from './verify.js';

/** One measured run. */
export interface RunResult {
  measurement: Measurement;
  /** Undefined for a contender that stores nothing (the sink). */
  verdict?: Verdict;
}

/** Everything measured for one contender in one scenario. */
export interface ContenderResult {
  id: ContenderId;
  label: string;
  runs: RunResult[];
  /**
   * S3: how the contender's state was filled: a full first run (by itself or a contender with
   * the same state file), or written from the server's UIDL list (`run` absent).
   */
  prime?: { by: ContenderId | 'uidl-list'; run?: RunResult };
}

/** Everything measured in one scenario. */
export interface ScenarioResult {
  scenario: Scenario;
  /** Messages and bytes one run has to deliver (all mailboxes). */
  messages: number;
  bytes: number;
  results: ContenderResult[];
  /** S6: this is the smaller run (`growthFrom` mailboxes) that the full one is compared with. */
  growthStep?: boolean;
  /** S6: the smaller run, on the full one. */
  growthBase?: ScenarioResult;
}

/** What the runner needs from its caller. */
export interface RunnerContext {
  server: BenchServer;
  contenders: Map<ContenderId, Contender>;
  /** A scratch directory readable by the unprivileged user. */
  workDir: string;
  /** The uid/gid fetchmail and getmail run as when we are root. */
  unprivileged: { uid: number; gid: number };
  log(line: string): void;
}

/** The Dovecot users a scenario uses. */
export function scenarioUsers(scenario: Scenario): string[] {
  const id = scenario.id.toLowerCase();
  if (scenario.mailboxes === 1) return [id];
  return Array.from({ length: scenario.mailboxes }, (_, i) => `${id}-${String(i).padStart(3, '0')}`);
}

/**
 * Runs `scenario` and returns its figures.
 *
 * @example
 * ```ts
 * const result = await runScenario(scenarios(false)[0], context);
 * ```
 */
export async function runScenario(scenario: Scenario, ctx: RunnerContext): Promise<ScenarioResult> {
  const contenders = scenario.contenders.flatMap((id) => {
    const contender = ctx.contenders.get(id);
    return contender && (scenario.mailboxes === 1 || contender.multiAccount) ? [contender] : [];
  });
  return scenario.keep
    ? runIncremental(scenario, contenders, ctx)
    : runCollectAndDelete(scenario, contenders, ctx);
}

/** S1, S2, S4, S5: the mailbox(es) are filled before every run and emptied by it. */
async function runCollectAndDelete(
  scenario: Scenario,
  contenders: Contender[],
  ctx: RunnerContext,
): Promise<ScenarioResult> {
  const users = scenarioUsers(scenario);
  ctx.log(`${scenario.id}: generating ${users.length * scenario.messages} messages`);
  const seeded = new Map<string, { messages: Buffer[]; expected: ExpectedMessages }>();
  users.forEach((user, index) => {
    const messages = generateMessages({
      tag: `${scenario.id.toLowerCase()}-${index}`,
      count: scenario.messages,
      size: scenario.size,
      seed: 1_000 * Number(scenario.id.slice(1)) + index,
    });
    seeded.set(user, { messages, expected: expectedById(messages) });
  });
  const proxy = scenario.latencyMs
    ? await startLatencyProxy({
        targetHost: ctx.server.dovecot.host,
        targetPort: ctx.server.dovecot.popsPort,
        delayMs: scenario.latencyMs,
      })
    : undefined;
  const results = contenders.map((c): ContenderResult => ({ id: c.id, label: c.label, runs: [] }));
  try {
    const rounds = Math.max(...contenders.map((c) => repsOf(scenario, c)));
    for (let round = 0; round < rounds; round++) {
      for (const [index, contender] of contenders.entries()) {
        if (round >= repsOf(scenario, contender)) continue;
        for (const user of users) {
          await ctx.server.empty(user);
          await ctx.server.dovecot.seed(user, seeded.get(user)?.messages ?? []);
        }
        const dir = join(ctx.workDir, scenario.id, contender.id, `run${round}`);
        const run = await runOnce(scenario, contender, ctx, dir, users, proxy?.port, false, async (user) =>
          verifyMaildir(
            join(dir, 'mail', user),
            seeded.get(user)?.expected ?? new Map(),
            await ctx.server.messageIds(user),
          ),
        );
        (results[index] as ContenderResult).runs.push(run);
        ctx.log(`${scenario.id} ${contender.id} #${round + 1}: ${summary(run)}`);
        await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await proxy?.close();
    for (const user of users) await ctx.server.empty(user);
  }
  const all = [...seeded.values()].flatMap((s) => s.messages);
  return { scenario, messages: all.length, bytes: byteCount(all), results };
}

/**
 * S3: a large backlog stays on the server. Each contender first collects all of it once
 * (priming its own state); then every round adds new messages and each contender fetches just
 * those.
 */
async function runIncremental(
  scenario: Scenario,
  contenders: Contender[],
  ctx: RunnerContext,
): Promise<ScenarioResult> {
  const [user] = scenarioUsers(scenario) as [string];
  const backlog = scenario.backlog ?? { messages: 0, size: 'small' as const };
  ctx.log(`${scenario.id}: seeding a backlog of ${backlog.messages} messages`);
  const old = generateMessages({ tag: 's3-old', count: backlog.messages, size: backlog.size, seed: 3_000 });
  const oldExpected = expectedById(old);
  // Mail is left on the server in this scenario: whatever a run misses is "not collected".
  const oldIds = new Set(oldExpected.keys());
  await ctx.server.empty(user);
  await ctx.server.dovecot.seed(user, old);
  const results = contenders.map((c): ContenderResult => ({ id: c.id, label: c.label, runs: [] }));
  const stateDirs = new Map<ContenderId, string>();
  const newMessages: Buffer[] = [];
  try {
    let uidls: string[] | undefined;
    const unprimed = new Set<ContenderId>();
    // Contenders primed by another one come last, so they can take a copy of its state.
    const primingOrder = [...contenders.entries()].sort(
      ([, a], [, b]) => Number(a.primeWith !== undefined) - Number(b.primeWith !== undefined),
    );
    for (const [index, contender] of primingOrder) {
      const dir = join(ctx.workDir, scenario.id, contender.id, 'prime');
      const state = join(dir, 'state');
      stateDirs.set(contender.id, state);
      const result = results[index] as ContenderResult;
      const primerResult = results.find((r) => r.id === contender.primeWith);
      const primerState = contender.primeWith ? stateDirs.get(contender.primeWith) : undefined;
      if (primerState && primerResult?.prime?.run?.measurement.ok) {
        // Same tool, same state file (fetchmail's .fetchids): a second full run would only
        // repeat the first.
        await mkdir(dir, { recursive: true });
        await cp(primerState, state, { recursive: true });
        if (contender.unprivileged && process.getuid?.() === 0) await chownTree(dir, ctx.unprivileged);
        result.prime = { by: primerResult.id, run: primerResult.prime.run };
        ctx.log(`${scenario.id} ${contender.id} prime: state copied from ${primerResult.id}`);
        continue;
      }
      if (contender.writeState) {
        await mkdir(state, { recursive: true });
        if (contender.unprivileged && process.getuid?.() === 0) {
          for (const path of [dir, state]) await chown(path, ctx.unprivileged.uid, ctx.unprivileged.gid);
        }
        uidls ??= await listUidls({
          host: ctx.server.dovecot.host,
          port: ctx.server.dovecot.popsPort,
          ca: ctx.server.dovecot.caPem,
          servername: 'localhost',
          user,
          password: passwordOf(user),
        });
        const port = ctx.server.dovecot.popsPort;
        await contender.writeState({ stateDir: state, host: ctx.server.dovecot.host, port, user, uidls });
        result.prime = { by: 'uidl-list' };
        ctx.log(`${scenario.id} ${contender.id} prime: state written from ${uidls.length} UIDLs`);
        continue;
      }
      const primer = (contender.primeWith && ctx.contenders.get(contender.primeWith)) || contender;
      const run = await runOnce(
        scenario,
        primer,
        ctx,
        dir,
        [user],
        undefined,
        true,
        (u) =>
          primer.delivers
            ? verifyMaildir(join(dir, 'mail', u), oldExpected, oldIds)
            : Promise.resolve(undefined),
        // A full run over the backlog takes longer than an incremental one.
        scenario.timeoutMs.prime,
      );
      result.prime = { by: primer.id, run };
      ctx.log(`${scenario.id} ${contender.id} prime (${primer.id}): ${summary(run)}`);
      // Without a complete first run its state is partial: an "incremental" run would be a
      // second full run. Such a contender is reported as not measured.
      if (!run.measurement.ok) unprimed.add(contender.id);
      await rm(join(dir, 'mail'), { recursive: true, force: true });
    }
    const rounds = Math.max(scenario.reps.fast, scenario.reps.slow);
    for (let round = 0; round < rounds; round++) {
      const fresh = generateMessages({
        tag: `s3-new-${round}`,
        count: scenario.messages,
        size: scenario.size,
        seed: 3_100 + round,
      });
      const collectedBefore = new Set([...oldIds, ...expectedById(newMessages).keys()]);
      newMessages.push(...fresh);
      const expected = expectedById(fresh);
      await ctx.server.dovecot.seed(user, fresh);
      for (const [index, contender] of contenders.entries()) {
        if (unprimed.has(contender.id)) continue;
        const dir = join(ctx.workDir, scenario.id, contender.id, `run${round}`);
        const run = await runOnce(
          scenario,
          contender,
          ctx,
          dir,
          [user],
          undefined,
          true,
          (u) => verifyMaildir(join(dir, 'mail', u), expected, new Set(expected.keys()), collectedBefore),
          undefined,
          stateDirs.get(contender.id),
        );
        (results[index] as ContenderResult).runs.push(run);
        ctx.log(`${scenario.id} ${contender.id} #${round + 1}: ${summary(run)}`);
        await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await ctx.server.empty(user);
    for (const dir of stateDirs.values()) await rm(join(dir, '..'), { recursive: true, force: true });
  }
  const perRound = newMessages.slice(0, scenario.messages);
  return { scenario, messages: perRound.length, bytes: byteCount(perRound), results };
}

/**
 * One run of one contender: fresh Maildir(s) below `dir/mail/<user>`, state below
 * `dir/state` (or `stateDir`), figures from GNU time, then the correctness check.
 */
async function runOnce(
  scenario: Scenario,
  contender: Contender,
  ctx: RunnerContext,
  dir: string,
  users: string[],
  proxyPort: number | undefined,
  keep: boolean,
  check: (user: string) => Promise<Verdict | undefined>,
  timeoutMs?: number,
  stateDir?: string,
): Promise<RunResult> {
  const state = stateDir ?? join(dir, 'state');
  await mkdir(join(dir, 'mail'), { recursive: true });
  await mkdir(state, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
    POP_HOST: ctx.server.dovecot.host,
    POP_PORT: String(proxyPort ?? ctx.server.dovecot.popsPort),
    POP_TLS: 'implicit',
    POP_CA: ctx.server.caFile,
    // fetchmail does not match IP addresses in the certificate; the name is in it, too.
    POP_TLS_NAME: 'localhost',
    // Short enough that getmail's lost-wakeup stall (it waits this long for an already
    // finished child) does not eat the time box; long for anything on loopback.
    POP_TIMEOUT: '15',
    KEEP: keep ? '1' : '0',
    ...contender.env,
  };
  if (users.length === 1) {
    const [user] = users as [string];
    Object.assign(env, {
      POP_USER: user,
      POP_PASS: passwordOf(user),
      MAILDIR: join(dir, 'mail', user),
      STATE_DIR: state,
    });
  } else {
    const accounts = join(dir, 'accounts.tsv');
    const lines = users.map((u) => [u, passwordOf(u), join(dir, 'mail', u), join(state, u)].join('\t'));
    await writeFile(accounts, `${lines.join('\n')}\n`, { mode: 0o644 });
    Object.assign(env, { POP_ACCOUNTS: accounts, STATE_DIR: state });
  }
  if (contender.unprivileged && process.getuid?.() === 0) {
    const { uid, gid } = ctx.unprivileged;
    for (const path of [dir, join(dir, 'mail'), state]) await chown(path, uid, gid);
  }
  const measurement = await measure({
    argv: contender.argv,
    env,
    timeoutMs: timeoutMs ?? timeoutOf(scenario, contender),
    scratchDir: ctx.workDir,
    ...(contender.unprivileged ? { asUser: ctx.unprivileged } : {}),
  });
  if (!contender.delivers) return { measurement };
  const verdicts: Verdict[] = [];
  for (const user of users) {
    const verdict = await check(user);
    if (verdict) verdicts.push(verdict);
  }
  return verdicts.length > 0 ? { measurement, verdict: sumVerdicts(verdicts) } : { measurement };
}

/** chown -R, for state copied into a directory an unprivileged contender must write. */
async function chownTree(path: string, owner: { uid: number; gid: number }): Promise<void> {
  await chown(path, owner.uid, owner.gid);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(child, owner);
    else await chown(child, owner.uid, owner.gid);
  }
}

function byteCount(messages: readonly Buffer[]): number {
  return messages.reduce((sum, m) => sum + m.length, 0);
}

function summary(run: RunResult): string {
  const m = run.measurement;
  const status = m.timedOut ? 'TIMEOUT' : m.ok ? 'ok' : `exit ${m.exitCode}`;
  const v = run.verdict;
  const check = v
    ? ` — exact ${v.exact}, lf ${v.lf}, altered ${v.altered}, lost ${v.lost}, not collected ${v.notCollected}, dup ${v.duplicated}`
    : '';
  const tail = m.ok ? '' : ` [${m.outputTail}]`;
  return `${status} ${(m.wallMs / 1000).toFixed(2)} s, cpu ${(m.cpuMs / 1000).toFixed(2)} s, rss ${Math.round(m.peakRssKb / 1024)} MB${check}${tail}`;
}
