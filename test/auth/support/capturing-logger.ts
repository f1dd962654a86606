/** A logger for tests that keeps every line, so a test can prove no secret was written. */
import type { Logger } from '../../../src/log/index.js';

/** A logger that keeps every line as text. */
export function capturingLogger(): Logger & { lines: string[]; text(): string } {
  const lines: string[] = [];
  const keep = (level: string) => (obj: Record<string, unknown>, msg?: string) => {
    lines.push(JSON.stringify({ level, ...obj, msg }));
  };
  return {
    lines,
    text: () => lines.join('\n'),
    debug: keep('debug'),
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
  };
}
