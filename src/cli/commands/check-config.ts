import { loadCliConfig } from '../config-file.js';
import { ExitCode } from '../exit-codes.js';
import type { ProgressOutput } from '../progress.js';
import { describeStore } from '../store-config.js';

/**
 * `multipop check-config`: validates the file; errors name the field (exit 2). Says where the
 * state lives (never the database password); it does not open the store.
 */
export function checkConfigCommand(options: { config: string; out: ProgressOutput }): number {
  const config = loadCliConfig(options.config);
  const entries = config.users.reduce((n, u) => n + u.entries.length, 0);
  options.out.write(
    `${options.config}: valid — ${config.users.length} users, ${entries} mailboxes, schedule "${config.settings.schedule.mode}".\n` +
      `State: ${config.store.type === 'sqlite' ? 'SQLite' : 'PostgreSQL'} ${describeStore(config.store)}.\n`,
  );
  return ExitCode.OK;
}
