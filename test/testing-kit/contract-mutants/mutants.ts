/**
 * The check the contract-mutant tests share: the correct implementation passes every case (none
 * skipped), each defect fails the case named for it, and every case is failed by some defect —
 * so no case of the contract is one that cannot fail.
 */
import { type Contract, runContract } from 'multipop/testing';
import { expect } from 'vitest';

/** A case's name without the contract's own (`LocalQueue contract: x › `). */
const caseName = (name: string) => name.slice(name.indexOf(' › ') + 3);

export async function expectEveryCaseCanFail<D extends string>(
  contract: (defect?: D) => Contract,
  caseOf: Record<D, string>,
): Promise<void> {
  const correct = await runContract(contract());
  expect(correct.failed.map((f) => `${f.name}: ${String(f.error)}`)).toEqual([]);
  expect(correct.skipped).toEqual([]);
  const failedSomewhere = new Set<string>();
  const notCaught: string[] = [];
  for (const [defect, expected] of Object.entries(caseOf) as Array<[D, string]>) {
    const failed = (await runContract(contract(defect))).failed.map((f) => caseName(f.name));
    for (const name of failed) failedSomewhere.add(name);
    if (!failed.some((name) => name.startsWith(expected)))
      notCaught.push(`${defect} → ${expected} (failed: ${failed.join('; ') || 'nothing'})`);
  }
  expect(notCaught).toEqual([]);
  expect(correct.passed.map(caseName).filter((name) => !failedSomewhere.has(name))).toEqual([]);
}
