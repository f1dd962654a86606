import type { Logger } from '../log/index.js';

/**
 * The log of a long-running fleet command: warnings and errors as one JSON line each on stderr
 * (a service manager collects them); debug and info are dropped. The library has redacted every
 * secret before a line gets here.
 */
export function stderrLogger(): Logger {
  const line = (level: string) => (obj: Record<string, unknown>, msg?: string) => {
    process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...obj })}\n`);
  };
  return { debug() {}, info() {}, warn: line('warn'), error: line('error') };
}
