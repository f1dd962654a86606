/** The `multipop` command for administrators and scripts. Exit codes: see `exit-codes.ts`. */
import { ExitCode } from './exit-codes.js';
import { runCli } from './run.js';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = ExitCode.INTERNAL;
  },
);
