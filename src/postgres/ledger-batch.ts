import type { LedgerChange } from '../ports/index.js';

/** One statement of a batch: changes of one type, at most one per (mailbox, UIDL). */
export interface Stage {
  type: LedgerChange['type'];
  mailboxIds: string[];
  uidls: string[];
  /** `at` of collected / oversizeReported; the batch's time for deletePending. */
  times: number[];
  /** The changes themselves, in the same order (for the fields a type has beyond these). */
  changes: LedgerChange[];
  keys: Set<string>;
}

/**
 * Turns the changes of many `apply` calls into as few multi-row statements as the order
 * allows. Only changes of the same (mailbox, UIDL) must keep their order — different records
 * never affect each other — so each change goes into the first statement of its type that
 * comes after the previous change of its record and does not hold that record yet (one
 * INSERT … ON CONFLICT may touch a row once). Fifty sessions' `[collected, deletePending]`
 * become two statements, not a hundred.
 */
export function planStages(
  applies: readonly { mailboxId: string; changes: readonly LedgerChange[] }[],
  now: number,
): Stage[] {
  const stages: Stage[] = [];
  const lastStageOf = new Map<string, number>();
  for (const { mailboxId, changes } of applies) {
    for (const change of changes) {
      const key = `${mailboxId}\u0000${change.uidl}`;
      let index = (lastStageOf.get(key) ?? -1) + 1;
      while (index < stages.length && (stages[index]!.type !== change.type || stages[index]!.keys.has(key)))
        index++;
      if (index === stages.length)
        stages.push({
          type: change.type,
          mailboxIds: [],
          uidls: [],
          times: [],
          changes: [],
          keys: new Set(),
        });
      const stage = stages[index]!;
      stage.mailboxIds.push(mailboxId);
      stage.uidls.push(change.uidl);
      stage.times.push(
        change.type === 'collected' || change.type === 'oversizeReported'
          ? change.at
          : change.type === 'put'
            ? change.record.firstSeen
            : now,
      );
      stage.changes.push(change);
      stage.keys.add(key);
      lastStageOf.set(key, index);
    }
  }
  return stages;
}
