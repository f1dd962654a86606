/**
 * The few assertions the contract suites use, framework-free (built on `node:assert`), with
 * vitest's spelling so the suites read like ordinary tests. `toEqual` compares like vitest's:
 * recursively (Maps by their entries, Sets by their items), ignoring properties whose value is
 * undefined, with `expect.any(Type)` and `expect.arrayContaining([...])` as placeholders.
 */
import { AssertionError } from 'node:assert';
import { inspect, isDeepStrictEqual } from 'node:util';

interface Placeholder {
  matches(value: unknown): boolean;
  describe(): string;
}
const placeholders = new WeakSet<object>();

function placeholder(p: Placeholder): never {
  placeholders.add(p);
  return p as never;
}

function isPlaceholder(value: unknown): value is Placeholder {
  return typeof value === 'object' && value !== null && placeholders.has(value);
}

/** Equality as vitest's `toEqual`; `partial` as `toMatchObject` (extra properties allowed). */
function equal(actual: unknown, expected: unknown, partial: boolean): boolean {
  if (isPlaceholder(expected)) return expected.matches(actual);
  if (Object.is(actual, expected)) return true;
  if (typeof actual !== 'object' || typeof expected !== 'object' || !actual || !expected) return false;
  if (ArrayBuffer.isView(actual) || ArrayBuffer.isView(expected) || actual instanceof Date)
    return isDeepStrictEqual(actual, expected);
  // Maps and Sets have no own keys: compared as objects, any two would be equal.
  if (actual instanceof Map || expected instanceof Map) {
    if (!(actual instanceof Map && expected instanceof Map)) return false;
    if (!partial && actual.size !== expected.size) return false;
    return [...expected].every(([key, value]) => actual.has(key) && equal(actual.get(key), value, partial));
  }
  if (actual instanceof Set || expected instanceof Set) {
    if (!(actual instanceof Set && expected instanceof Set)) return false;
    if (!partial && actual.size !== expected.size) return false;
    return [...expected].every((item) => [...actual].some((x) => equal(x, item, partial)));
  }
  if (Array.isArray(actual) !== Array.isArray(expected)) return false;
  if (Array.isArray(actual)) {
    const list = expected as unknown[];
    return actual.length === list.length && actual.every((v, i) => equal(v, list[i], partial));
  }
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  const defined = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
  const keys = new Set([...defined(e), ...(partial ? [] : defined(a))]);
  for (const key of keys) if (!equal(a[key], e[key], partial)) return false;
  return true;
}

function fail(message: string, actual: unknown, expected: unknown): never {
  throw new AssertionError({ message, actual, expected, operator: 'expect' });
}

const show = (v: unknown) => (isPlaceholder(v) ? v.describe() : inspect(v, { depth: 6 }));

class Matchers {
  constructor(
    private readonly actual: unknown,
    private readonly negated = false,
  ) {}

  get not(): Matchers {
    return new Matchers(this.actual, !this.negated);
  }

  get rejects(): { toBeInstanceOf(type: abstract new (...args: never[]) => unknown): Promise<void> } {
    const promise = this.actual as Promise<unknown>;
    return {
      toBeInstanceOf: async (type) => {
        try {
          await promise;
        } catch (error) {
          if (!(error instanceof type)) fail(`expected a rejection with ${type.name}`, error, type);
          return;
        }
        fail('expected the promise to reject', 'resolved', 'rejected');
      },
    };
  }

  private check(pass: boolean, what: string, expected?: unknown): void {
    if (pass === this.negated)
      fail(`expected ${show(this.actual)} ${this.negated ? 'not ' : ''}${what}`, this.actual, expected);
  }

  toBe(expected: unknown): void {
    this.check(Object.is(this.actual, expected), `to be ${show(expected)}`, expected);
  }
  toEqual(expected: unknown): void {
    this.check(equal(this.actual, expected, false), `to equal ${show(expected)}`, expected);
  }
  toMatchObject(expected: unknown): void {
    this.check(equal(this.actual, expected, true), `to match ${show(expected)}`, expected);
  }
  toBeUndefined(): void {
    this.check(this.actual === undefined, 'to be undefined');
  }
  toHaveLength(length: number): void {
    const actual = (this.actual as { length?: unknown } | null | undefined)?.length;
    this.check(actual === length, `to have length ${length} (has ${String(actual)})`, length);
  }
  toBeGreaterThan(n: number): void {
    this.check(typeof this.actual === 'number' && this.actual > n, `to be greater than ${n}`, n);
  }
  toBeInstanceOf(type: abstract new (...args: never[]) => unknown): void {
    this.check(this.actual instanceof type, `to be an instance of ${type.name}`, type);
  }
}

export const expect = Object.assign((actual: unknown) => new Matchers(actual), {
  /** Matches any value made by `type` (`Number`, `String`, a class). */
  any: (type: abstract new (...args: never[]) => unknown): never =>
    placeholder({
      matches: (v) =>
        v instanceof type ||
        (type === (Number as unknown) && typeof v === 'number') ||
        (type === (String as unknown) && typeof v === 'string') ||
        (type === (Boolean as unknown) && typeof v === 'boolean'),
      describe: () => `any ${type.name}`,
    }),
  /** Matches an array that holds (at least) these items, in any order. */
  arrayContaining: (items: readonly unknown[]): never =>
    placeholder({
      matches: (v) => Array.isArray(v) && items.every((item) => v.some((x) => equal(x, item, false))),
      describe: () => `an array containing ${inspect(items, { depth: 6 })}`,
    }),
});
