/** Replacement text for any value that must not be shown. */
export const REDACTED = '[REDACTED]';

/**
 * Keys whose values are secrets wherever they appear in a log entry or error context.
 * Matching is by name so that a new field called `refreshToken` or `clientSecret` is covered
 * without anyone remembering to add it.
 */
const SECRET_KEY =
  /pass(word)?|secret|token|authorization|apop|digest|sasl|credential|cookie|verifier|^key$/i;

const MAX_DEPTH = 8;

/**
 * Returns a copy of `value` that is safe to log: values under secret-looking keys are
 * replaced, and every string is scrubbed of each known secret (`secrets`) wherever it
 * occurs inside it — a password echoed in a server line, a token inside a URL.
 *
 * @example
 * ```ts
 * redact({ user: 'ann', password: 'hunter2' }) // → { user: 'ann', password: '[REDACTED]' }
 * redact('PASS hunter2', ['hunter2'])          // → 'PASS [REDACTED]'
 * ```
 */
export function redact(value: unknown, secrets: Iterable<string> = []): unknown {
  const known = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return redactValue(value, known, 0, new WeakSet());
}

function redactValue(value: unknown, secrets: string[], depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return scrub(value, secrets);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value) || depth > MAX_DEPTH) return '[…]';
  seen.add(value);
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: scrub(value.message, secrets) };
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY.test(k) ? REDACTED : redactValue(v, secrets, depth + 1, seen);
    }
    if (value.cause !== undefined) out['cause'] = redactValue(value.cause, secrets, depth + 1, seen);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, secrets, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      SECRET_KEY.test(k) && v !== undefined && v !== null
        ? REDACTED
        : redactValue(v, secrets, depth + 1, seen);
  }
  return out;
}

function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}
