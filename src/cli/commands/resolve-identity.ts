import type { IdentityResolution } from '../../collect/identity.js';
import { loadCliConfig } from '../config-file.js';
import { ExitCode } from '../exit-codes.js';
import type { ProgressOutput } from '../progress.js';
import { openRuntime } from '../runtime.js';

/**
 * `multipop resolve-identity <entry> --rekey-matching | --collect-as-new`: resolves a mailbox
 * paused with `IDENTITY_UNCERTAIN` by running one session of it with the administrator's
 * decision (see docs/operations.md). Exit 0 when that session succeeded, 1 otherwise.
 */
export async function resolveIdentityCommand(options: {
  config: string;
  mailboxId: string;
  resolution: IdentityResolution;
  out: ProgressOutput;
}): Promise<number> {
  const runtime = await openRuntime(loadCliConfig(options.config));
  try {
    const summary = await runtime.fetcher.resolveIdentity(
      { role: 'admin' },
      options.mailboxId,
      options.resolution,
    );
    if (summary.ok) {
      options.out.write(
        `${options.mailboxId}: resolved (${options.resolution}); collected ${summary.result?.collected ?? 0}\n`,
      );
      return ExitCode.OK;
    }
    const why = summary.error
      ? `${summary.error.code}: ${summary.error.message}`
      : (summary.skipped ?? 'not collected');
    options.out.write(`${options.mailboxId}: ${why}\n`);
    return ExitCode.MAILBOX_FAILED;
  } finally {
    await runtime.close();
  }
}
