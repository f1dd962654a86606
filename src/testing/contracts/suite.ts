/**
 * The contract suites are written once, with `describe`/`it`/`beforeEach`/`afterEach` from this
 * module, and collected into a {@link Contract} — a plain tree of cases — instead of being
 * registered with a test framework. A contract then runs under any framework (vitest, Jest,
 * mocha, `node:test`: {@link registerContract}) or none ({@link runContract}), so the kit needs
 * no test framework to load.
 */

type Hook = () => unknown;

interface CaseNode {
  kind: 'case';
  name: string;
  run: () => Promise<void> | void;
  /** Why the case cannot check what its name says with the given harness. */
  skip?: string;
}

interface GroupNode {
  kind: 'group';
  name: string;
  children: Array<CaseNode | GroupNode>;
  beforeEach: Hook[];
  afterEach: Hook[];
}

/**
 * A contract suite, collected and ready to run: pass it to {@link runContract} or
 * {@link registerContract}. Build one with `localQueueContract(…)`, `ledgerContract(…)`,
 * `directoryContract(…)` or `tokenStoreContract(…)`.
 */
export interface Contract {
  /** The suite's name, e.g. `LocalQueue contract: my queue`. */
  readonly name: string;
  /** @internal */
  readonly root: GroupNode;
}

let collecting: GroupNode | undefined;

/** Collects the cases `body` declares into a {@link Contract}. */
export function defineContract(body: () => void): Contract {
  const root = group('');
  within(root, body);
  const only = root.children.length === 1 ? root.children[0] : undefined;
  return { name: only?.name ?? '', root };
}

export function describe(name: string, body: () => void): void {
  const child = group(name);
  current().children.push(child);
  within(child, body);
}

interface It {
  (name: string, run: () => Promise<void> | void): void;
  /** Declares a case that is reported as skipped, with `reason`, when `condition` holds. */
  skipIf(condition: boolean, reason: string): (name: string, run: () => Promise<void> | void) => void;
}

export const it: It = Object.assign(
  (name: string, run: () => Promise<void> | void) => {
    current().children.push({ kind: 'case', name, run });
  },
  {
    skipIf:
      (condition: boolean, reason: string) =>
      (name: string, run: () => Promise<void> | void): void => {
        current().children.push({ kind: 'case', name, run, ...(condition ? { skip: reason } : {}) });
      },
  },
);

export function beforeEach(hook: Hook): void {
  current().beforeEach.push(hook);
}

export function afterEach(hook: Hook): void {
  current().afterEach.push(hook);
}

/** Thrown by {@link skip}: the running case cannot check its claim with this implementation. */
export class ContractSkip extends Error {
  override readonly name = 'ContractSkip';
  constructor(readonly reason: string) {
    super(`skipped: ${reason}`);
  }
}

/** Inside a case: stop here and report the case as skipped, with the reason. */
export function skip(reason: string): never {
  throw new ContractSkip(reason);
}

/** What {@link runContract} found. */
export interface ContractReport {
  /** True when no case failed. */
  ok: boolean;
  passed: string[];
  failed: Array<{ name: string; error: unknown }>;
  skipped: Array<{ name: string; reason: string }>;
}

/**
 * Runs every case of a contract, one after the other, without a test framework — e.g. from a
 * plain `node` script or a framework this kit does not know. Case names are the path of
 * `describe` names and the case name, joined with ` › `.
 *
 * @example
 * <!-- doc-context declare const SpoolQueue: new (dir: string) => LocalQueue; declare const dir: string; -->
 * ```ts
 * import { localQueueContract, runContract } from 'multipop/testing';
 * const report = await runContract(localQueueContract('spool queue', () => new SpoolQueue(dir)));
 * for (const f of report.failed) console.error('FAIL', f.name, f.error);
 * process.exitCode = report.ok ? 0 : 1;
 * ```
 */
export async function runContract(contract: Contract): Promise<ContractReport> {
  const report: ContractReport = { ok: true, passed: [], failed: [], skipped: [] };
  for (const { node, path, chain } of cases(contract.root, [], [])) {
    const name = path.join(' › ');
    if (node.skip !== undefined) {
      report.skipped.push({ name, reason: node.skip });
      continue;
    }
    try {
      await runCase(node, chain);
      report.passed.push(name);
    } catch (error) {
      if (error instanceof ContractSkip) report.skipped.push({ name, reason: error.reason });
      else report.failed.push({ name, error });
    }
  }
  report.ok = report.failed.length === 0;
  return report;
}

/** The part of a test framework's API that {@link registerContract} uses. */
export interface TestFramework {
  /** Opens a group of cases (the framework's own `describe`). */
  describe(name: string, body: () => void): unknown;
  /** Declares one case; `skip`, where the framework has it, reports a case that cannot check its claim. */
  // biome-ignore lint/suspicious/noExplicitAny: frameworks type their `it` differently; only the name and an async body are passed
  it: ((name: string, body: (...args: any[]) => Promise<void>) => unknown) & {
    /** Declares a skipped case (the title says why). */
    // biome-ignore lint/suspicious/noExplicitAny: as above
    skip?: (name: string, body: (...args: any[]) => unknown) => unknown;
  };
}

/**
 * Registers a contract's cases with a test framework that has `describe` and `it` (vitest,
 * Jest, mocha, `node:test`): one `it` per case. Set-up and tear-down run inside each case, so
 * the framework's hooks are not needed. A case that cannot check its claim with the given harness
 * is registered with `it.skip` and the reason in its name; one that finds out while running
 * (e.g. the queue has no `has`) calls the framework's run-time skip where there is one (vitest's
 * `context.skip`); Jest has none, so there such a case passes without checking anything —
 * {@link runContract} reports it as skipped.
 *
 * @example
 * ```js
 * // queue.contract.test.cjs — Jest, CommonJS
 * const { localQueueContract, registerContract } = require('multipop/testing');
 * registerContract(localQueueContract('spool queue', () => new SpoolQueue(dir)), { describe, it });
 * ```
 */
export function registerContract(contract: Contract, framework: TestFramework): void {
  for (const child of contract.root.children) register(child, [contract.root], framework);
}

function register(node: CaseNode | GroupNode, chain: GroupNode[], framework: TestFramework): void {
  if (node.kind === 'group') {
    framework.describe(node.name, () => {
      for (const child of node.children) register(child, [...chain, node], framework);
    });
    return;
  }
  if (node.skip !== undefined) {
    const title = `${node.name} (skipped: ${node.skip})`;
    if (framework.it.skip) framework.it.skip(title, () => undefined);
    else framework.it(title, async () => undefined);
    return;
  }
  // Rest parameters: Jest treats a body with a declared parameter as callback-style.
  framework.it(node.name, async (...args: unknown[]) => {
    try {
      await runCase(node, chain);
    } catch (error) {
      if (!(error instanceof ContractSkip)) throw error;
      const context = args[0] as { skip?: (note?: string) => void } | undefined;
      if (typeof context?.skip === 'function') context.skip(error.reason);
    }
  });
}

/** Runs the hooks outside in, the case, then the tear-downs inside out (always). */
async function runCase(node: CaseNode, chain: GroupNode[]): Promise<void> {
  let failure: { error: unknown } | undefined;
  let entered = 0;
  try {
    for (const g of chain) {
      entered++;
      for (const hook of g.beforeEach) await hook();
    }
    await node.run();
  } catch (error) {
    failure = { error };
  }
  for (const g of chain.slice(0, entered).reverse()) {
    for (const hook of g.afterEach) {
      try {
        await hook();
      } catch (error) {
        failure ??= { error };
      }
    }
  }
  if (failure) throw failure.error;
}

function* cases(
  g: GroupNode,
  path: string[],
  chain: GroupNode[],
): Generator<{ node: CaseNode; path: string[]; chain: GroupNode[] }> {
  const here = g.name ? [...path, g.name] : path;
  for (const child of g.children) {
    if (child.kind === 'group') yield* cases(child, here, [...chain, g]);
    else yield { node: child, path: [...here, child.name], chain: [...chain, g] };
  }
}

function group(name: string): GroupNode {
  return { kind: 'group', name, children: [], beforeEach: [], afterEach: [] };
}

function within(g: GroupNode, body: () => void): void {
  const outer = collecting;
  collecting = g;
  try {
    body();
  } finally {
    collecting = outer;
  }
}

function current(): GroupNode {
  if (!collecting) throw new Error('Contract cases are declared inside defineContract only');
  return collecting;
}
