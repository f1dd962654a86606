import type { MailboxSummary } from '../../fetcher/index.js';
import { type CliConfig, loadCliConfig } from '../config-file.js';
import { describeChanges } from '../directory-sync.js';
import { ExitCode } from '../exit-codes.js';
import { attachProgress, formatBytes, type ProgressOutput } from '../progress.js';
import { openRuntime } from '../runtime.js';

export interface CollectOptions {
  config: string;
  watch: boolean;
  json: boolean;
  /** Let the config file remove or replace directory data the CLI did not write (`--force-sync`). */
  forceSync?: boolean;
  out: ProgressOutput;
  /** Resolves when a `--watch` run should stop (SIGINT/SIGTERM). */
  stopSignal: Promise<void>;
}

/**
 * `multipop collect`: one collection of every enabled mailbox (exit 0 when all succeeded, 1 when
 * any failed), or with `--watch` the schedule from the settings until SIGINT/SIGTERM.
 */
export async function collectCommand(options: CollectOptions): Promise<number> {
  const config: CliConfig = loadCliConfig(options.config);
  const runtime = await openRuntime(config, undefined, { forceSync: options.forceSync === true });
  const changed = describeChanges(runtime.changes);
  // With --json, stdout carries only the JSON result.
  if (changed) (options.json ? process.stderr : options.out).write(`${changed}\n`);
  const detach = options.json ? () => undefined : attachProgress(runtime.fetcher, options.out);
  const DAY = 24 * 60 * 60 * 1000;
  const housekeeping = setInterval(() => void runtime.maintenance().catch(() => undefined), DAY);
  housekeeping.unref();
  try {
    await runtime.maintenance();
    if (options.watch) {
      await runtime.fetcher.start();
      options.out.write(
        `Collecting on schedule "${config.settings.schedule.mode}"; Ctrl-C stops after the message in flight.\n`,
      );
      await options.stopSignal;
      return ExitCode.OK;
    }
    const summaries = await runtime.fetcher.collectNow();
    report(summaries, options);
    return summaries.some((s) => s.error) ? ExitCode.MAILBOX_FAILED : ExitCode.OK;
  } finally {
    clearInterval(housekeeping);
    detach();
    await runtime.close();
  }
}

function report(summaries: MailboxSummary[], options: CollectOptions): void {
  if (options.json) {
    const rows = summaries.map((s) => ({
      userId: s.userId,
      mailboxId: s.mailboxId,
      ok: s.ok,
      ...(s.result ? { result: s.result } : {}),
      ...(s.skipped ? { skipped: s.skipped } : {}),
      ...(s.error ? { error: { code: s.error.code, message: s.error.message } } : {}),
    }));
    options.out.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const collected = summaries.reduce((n, s) => n + (s.result?.collected ?? 0), 0);
  const bytes = summaries.reduce((n, s) => n + (s.result?.bytes ?? 0), 0);
  const failed = summaries.filter((s) => s.error).length;
  const skipped = summaries.filter((s) => s.skipped).length;
  options.out.write(
    `${summaries.length} mailboxes: ${collected} messages (${formatBytes(bytes)}) collected, ${failed} failed, ${skipped} skipped.\n`,
  );
}
