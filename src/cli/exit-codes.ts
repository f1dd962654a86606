/**
 * Exit codes of the `multipop` command, stable for scripts:
 *
 * | code | meaning |
 * |---|---|
 * | 0 | everything asked for succeeded |
 * | 1 | at least one mailbox failed (the others were collected) |
 * | 2 | the configuration is invalid (the message names the field) |
 * | 3 | usage error (unknown command or option) |
 * | 4 | an unexpected internal error |
 */
export const ExitCode = {
  OK: 0,
  MAILBOX_FAILED: 1,
  CONFIG_INVALID: 2,
  USAGE: 3,
  INTERNAL: 4,
} as const;
