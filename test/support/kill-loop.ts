import type { CollectorRun } from './collector-command.js';

/** How {@link killRepeatedly} starts, watches and kills the collector. */
export interface KillLoopOptions {
  /** Seeded, so a failing run can be replayed. */
  random: () => number;
  /** Stop once this many runs were killed. */
  kills: number;
  /** Starts one run of the command. */
  start: () => CollectorRun;
  /** How many messages have reached the destination so far (polled every 2 ms). */
  delivered: () => number;
  /** A mid-collection kill comes after up to this many more messages … */
  maxMessagesBeforeKill: number;
  /** … plus up to this many ms. */
  maxExtraMs: number;
  /**
   * A run that ended by itself (it must have exited 0 with nothing on stderr — else this
   * throws): give the next one new mail.
   */
  onCompleted: () => Promise<void>;
}

/** What the loop did, for the suite's report and its own assertions. */
export interface KillLoopReport {
  rounds: number;
  kills: number;
  /** Kills that landed after messages started to arrive (the rest: start-up to listing). */
  midKills: number;
  completions: number;
}

/**
 * Starts the collector again and again and kills it with SIGKILL at seeded random moments: a
 * quarter of the kills anywhere in start-up, connect, TLS, login and listing (within a running
 * estimate of the time to the first delivered message), the rest after a random number of
 * messages arrived plus a random fraction of a short window — so they hit RETR, the queue, the
 * window between the queue's acceptance and the ledger commit, DELE and QUIT.
 *
 * @example
 * ```ts
 * const report = await killRepeatedly({ random, kills: 100, start, delivered, maxMessagesBeforeKill: 25, maxExtraMs: 40, onCompleted });
 * ```
 */
export async function killRepeatedly(options: KillLoopOptions): Promise<KillLoopReport> {
  const { random } = options;
  const report: KillLoopReport = { rounds: 0, kills: 0, midKills: 0, completions: 0 };
  let startupMs = 1_000;
  while (report.kills < options.kills) {
    report.rounds++;
    const before = options.delivered();
    const started = Date.now();
    const run = options.start();
    const early = random() < 0.25;
    const target = before + Math.floor(random() * options.maxMessagesBeforeKill);
    const extraMs = Math.floor(random() * options.maxExtraMs);
    let killedMid = false;
    const timer = early
      ? setTimeout(() => run.child.kill('SIGKILL'), Math.floor(random() * startupMs))
      : setInterval(() => {
          if (options.delivered() > target) {
            clearInterval(timer);
            killedMid = true;
            setTimeout(() => run.child.kill('SIGKILL'), extraMs);
          }
        }, 2);
    const outcome = await run.done;
    clearTimeout(timer);
    clearInterval(timer);
    if (options.delivered() > before)
      startupMs = Math.max(300, Math.round((startupMs + (Date.now() - started)) / 2));
    if (outcome.signal === 'SIGKILL') {
      report.kills++;
      if (killedMid) report.midKills++;
      continue;
    }
    if (outcome.code !== 0 || outcome.stderr !== '')
      throw new Error(
        `an unkilled run must succeed: exit ${outcome.code}, stderr ${JSON.stringify(outcome.stderr)}`,
      );
    report.completions++;
    await options.onCompleted();
  }
  return report;
}
