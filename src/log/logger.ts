import { redact } from './redact.js';

/**
 * The logger the library writes to: the shape of pino, bunyan and `console`. Each method takes
 * a structured object first and a message second (pino's order).
 */
export interface Logger {
  /** Detail for debugging (protocol steps; never secrets). */
  debug(obj: Record<string, unknown>, msg?: string): void;
  /** Normal activity (a session collected n messages). */
  info(obj: Record<string, unknown>, msg?: string): void;
  /** A mailbox failed or something needs attention. */
  warn(obj: Record<string, unknown>, msg?: string): void;
  /** A failure of the library or its stores. */
  error(obj: Record<string, unknown>, msg?: string): void;
}

/** A logger that drops everything: the default, so an embedded library stays quiet. */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/**
 * Secrets known at run time (passwords, tokens, client secrets). Every log call of the library
 * scrubs them from every string it writes, in addition to the key-based redaction.
 */
export class SecretRegistry {
  readonly #secrets = new Set<string>();
  /** Remember a secret so it is scrubbed from all later log lines. Short values are ignored. */
  add(secret: string | undefined | null): void {
    if (secret && secret.length >= 4) this.#secrets.add(secret);
  }
  /** Forget a secret (e.g. a password that was changed). */
  delete(secret: string): void {
    this.#secrets.delete(secret);
  }
  /** The secrets registered so far. */
  values(): Iterable<string> {
    return this.#secrets;
  }
}

/** Where a wrapper finds the secrets to scrub: a {@link SecretRegistry}, or several. */
interface SecretSource {
  values(): Iterable<string>;
}

/** What each wrapper made by {@link createLog} wraps, so that wrapping it again flattens. */
const wrapped = new WeakMap<
  object,
  { target: Logger; bindings: Record<string, unknown>; secrets: SecretSource[] }
>();

/**
 * Wraps a host logger so that every entry passes through {@link redact} and carries fixed
 * bindings (a component name, a mailbox id, a connection id). The library never calls a host
 * logger directly — not even one with its own `child()` (pino, bunyan): the wrapper's
 * redaction is the only thing that knows the secrets of the session.
 *
 * Wrapping a wrapper does not stack two redactions: it makes one wrapper of the same host
 * logger with both sets of bindings and both secret registries.
 *
 * @example
 * ```ts
 * const log = createLog(pino(), { component: 'pop3', mailboxId: 'm1' });
 * log.debug({ command: 'PASS', password: 'x' }, 'sent'); // password → [REDACTED]
 * ```
 */
export function createLog(
  logger: Logger | false | undefined,
  bindings: Record<string, unknown> = {},
  secrets?: SecretSource,
): Logger & {
  /** The same log with more bindings (a mailbox id, a connection id) on every entry. */
  child(more: Record<string, unknown>): ReturnType<typeof createLog>;
} {
  const inner = logger ? wrapped.get(logger) : undefined;
  const target = inner?.target ?? (logger || silentLogger);
  const allBindings = inner ? { ...inner.bindings, ...bindings } : bindings;
  const sources = [...(inner?.secrets ?? []), ...(secrets ? [secrets] : [])];
  const emit =
    (level: keyof Logger) =>
    (obj: Record<string, unknown>, msg?: string): void => {
      if (target === silentLogger) return;
      const knownList = sources.flatMap((source) => [...source.values()]);
      const safe = redact({ ...allBindings, ...obj }, knownList) as Record<string, unknown>;
      const safeMsg = msg === undefined ? undefined : (redact(msg, knownList) as string);
      try {
        target[level](safe, safeMsg);
      } catch {
        // A failing host logger must never break mail collection.
      }
    };
  const log: ReturnType<typeof createLog> = {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (more) => createLog(log, more),
  };
  wrapped.set(log, { target, bindings: allBindings, secrets: sources });
  return log;
}

/** The logger type the library's components receive. */
export type Log = ReturnType<typeof createLog>;
